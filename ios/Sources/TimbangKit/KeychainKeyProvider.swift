// The 32-byte database key in the iOS Keychain: made at random on first use, readable only on this
// device after the first unlock (so background sync works while the phone is locked), never backed up
// to another device (a new phone joins the team and syncs instead).
import Foundation
import Security

public protocol KeyProvider {
    func databaseKey() throws -> Data
}

public struct KeychainError: Error { public let status: OSStatus }

public struct KeychainKeyProvider: KeyProvider {
    let service: String
    let account: String

    public init(service: String = "org.timbang.db-key", account: String = "default") {
        self.service = service
        self.account = account
    }

    public func databaseKey() throws -> Data {
        var query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
            kSecReturnData as String: true,
        ]
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        if status == errSecSuccess, let data = item as? Data, data.count == 32 { return data }
        guard status == errSecItemNotFound else { throw KeychainError(status: status) }
        var key = Data(count: 32)
        let made = key.withUnsafeMutableBytes { SecRandomCopyBytes(kSecRandomDefault, 32, $0.baseAddress!) }
        guard made == errSecSuccess else { throw KeychainError(status: made) }
        query.removeValue(forKey: kSecReturnData as String)
        query[kSecValueData as String] = key
        query[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let added = SecItemAdd(query as CFDictionary, nil)
        // Another thread made it first: use that one.
        if added == errSecDuplicateItem { return try databaseKey() }
        guard added == errSecSuccess else { throw KeychainError(status: added) }
        return key
    }
}
