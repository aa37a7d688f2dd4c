// The 32-byte database key, kept wrapped by a key the platform protects. Pure JVM: the Android
// Keystore supplies the wrapping key on the phone (KeystoreKeyProvider); the JVM tests use an
// ordinary AES key.
package org.timbang.android

import java.io.File
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/** Gives the database key (a fresh copy each call: wipe it after use). */
fun interface KeyProvider {
    fun databaseKey(): ByteArray
}

/**
 * The database key, made at random on first use and stored in [file] wrapped with AES-256-GCM by
 * [wrappingKey]: `[version 1][iv 12][ciphertext 32 + tag 16]`. The cipher chooses the IV (the
 * Android Keystore requires that). A file wrapped by another key, or altered, fails to open
 * (`javax.crypto.AEADBadTagException`): the database stays sealed, nothing is replaced.
 */
class WrappedKeyFile(
    private val file: File,
    private val wrappingKey: () -> SecretKey,
) : KeyProvider {
    @Synchronized
    override fun databaseKey(): ByteArray {
        if (file.exists()) return unwrap(file.readBytes())
        val key = ByteArray(32).also { SecureRandom().nextBytes(it) }
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.ENCRYPT_MODE, wrappingKey())
        val blob = byteArrayOf(VERSION) + cipher.iv + cipher.doFinal(key)
        val tmp = File(file.parentFile, file.name + ".tmp")
        tmp.writeBytes(blob)
        check(tmp.renameTo(file)) { "could not store the wrapped key" }
        return key
    }

    private fun unwrap(blob: ByteArray): ByteArray {
        require(blob.size == 1 + IV_LEN + 32 + 16 && blob[0] == VERSION) { "not a Timbang key file (version 1)" }
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.DECRYPT_MODE, wrappingKey(), GCMParameterSpec(128, blob, 1, IV_LEN))
        return cipher.doFinal(blob, 1 + IV_LEN, blob.size - 1 - IV_LEN)
    }

    private companion object {
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val VERSION: Byte = 1
        const val IV_LEN = 12
    }
}
