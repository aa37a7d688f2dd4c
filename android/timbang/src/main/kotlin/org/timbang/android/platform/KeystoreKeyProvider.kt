// Android only (needs the SDK): the wrapping key lives in the Android Keystore and never leaves it.
package org.timbang.android.platform

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import java.io.File
import java.security.KeyStore
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import org.timbang.android.KeyProvider
import org.timbang.android.WrappedKeyFile

/** The database key wrapped by an AES-256-GCM Keystore key `alias`, stored in `noBackupFilesDir`
 *  (a cloud backup of the app never carries it; a new phone joins the team and syncs instead). */
class KeystoreKeyProvider(context: Context, private val alias: String = "timbang-db-key") : KeyProvider {
    private val wrapped = WrappedKeyFile(File(context.noBackupFilesDir, "$alias.wrapped"), ::wrappingKey)

    override fun databaseKey(): ByteArray = wrapped.databaseKey()

    private fun wrappingKey(): SecretKey {
        val store = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }
        (store.getKey(alias, null) as? SecretKey)?.let { return it }
        val gen = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
        gen.init(
            KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .build(),
        )
        return gen.generateKey()
    }
}
