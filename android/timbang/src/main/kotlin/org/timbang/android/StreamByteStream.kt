// A peer transport over any pair of Java streams: a Bluetooth RFCOMM socket on the phone
// (BluetoothTransport), a TCP socket in the JVM tests. Pure JVM.
package org.timbang.android

import java.io.Closeable
import java.io.IOException
import java.io.InputStream
import java.io.OutputStream
import java.net.SocketTimeoutException
import java.util.Timer
import kotlin.concurrent.schedule
import org.timbang.core.ByteStream
import org.timbang.core.StreamException

/**
 * [input] and [output] as the core's byte stream. Bluetooth sockets have no read timeout, so a
 * watchdog closes [connection] when the two phones have not proved they are one team within
 * [handshakeTimeoutMs] (the core calls [paired] once they have): a silent stranger never holds the
 * phone's only Bluetooth session.
 */
class StreamByteStream(
    private val input: InputStream,
    private val output: OutputStream,
    private val connection: Closeable,
    handshakeTimeoutMs: Long = 10_000,
) : ByteStream, Closeable {
    private val watchdog = Timer("timbang-handshake", true).also { it.schedule(handshakeTimeoutMs) { close() } }

    override fun read(max: UInt): ByteArray {
        val buf = ByteArray(minOf(max.toInt(), 1 shl 16))
        val n =
            try {
                input.read(buf)
            } catch (e: SocketTimeoutException) {
                throw StreamException.TimedOut()
            } catch (e: IOException) {
                throw StreamException.Failed(e.message ?: e.javaClass.simpleName)
            }
        return if (n <= 0) ByteArray(0) else buf.copyOf(n)
    }

    override fun write(data: ByteArray) {
        try {
            output.write(data)
            output.flush()
        } catch (e: IOException) {
            throw StreamException.Failed(e.message ?: e.javaClass.simpleName)
        }
    }

    override fun paired() {
        watchdog.cancel()
    }

    override fun close() {
        watchdog.cancel()
        try {
            connection.close()
        } catch (_: IOException) {
        }
    }
}
