// Android only (needs the SDK): the peer transport over a Bluetooth RFCOMM socket. The byte stream
// itself is StreamByteStream, tested on the JVM over TCP.
package org.timbang.android.platform

import android.Manifest
import android.bluetooth.BluetoothAdapter
import android.bluetooth.BluetoothDevice
import android.bluetooth.BluetoothSocket
import androidx.annotation.RequiresPermission
import java.util.UUID
import org.timbang.android.StreamByteStream

object BluetoothTransport {
    /** The service both phones of a team use (any fixed UUID; the channel proves the team). */
    val SERVICE: UUID = UUID.fromString("6f2b5a4e-7d4b-4c1e-9a57-74696d62616e")
    private const val NAME = "Timbang"

    /** The phone that shows the QR code waits for the other (blocking; call on Dispatchers.IO). */
    @RequiresPermission(Manifest.permission.BLUETOOTH_CONNECT)
    fun accept(adapter: BluetoothAdapter, timeoutMs: Int = 60_000): StreamByteStream =
        adapter.listenUsingRfcommWithServiceRecord(NAME, SERVICE).use { server -> stream(server.accept(timeoutMs)) }

    /** The other phone dials it. */
    @RequiresPermission(Manifest.permission.BLUETOOTH_CONNECT)
    fun dial(device: BluetoothDevice): StreamByteStream =
        device.createRfcommSocketToServiceRecord(SERVICE).let { s ->
            s.connect()
            stream(s)
        }

    private fun stream(s: BluetoothSocket) = StreamByteStream(s.inputStream, s.outputStream, s)
}
