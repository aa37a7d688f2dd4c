// The host HTTP the core's ASIK upload and relay send through, over java.net.HttpURLConnection (on
// the JVM and on Android alike; an app may give OkHttp instead). Pure JVM: tested here against the
// ASIK test server.
package org.timbang.android

import java.io.IOException
import java.net.ConnectException
import java.net.HttpURLConnection
import java.net.NoRouteToHostException
import java.net.SocketTimeoutException
import java.net.URL
import java.net.UnknownHostException
import org.timbang.core.HttpClient
import org.timbang.core.HttpException
import org.timbang.core.HttpHeader
import org.timbang.core.HttpRequest
import org.timbang.core.HttpResponse

/**
 * Sends each request exactly as the core built it (no redirects followed, no caching) and returns
 * every status as an answer. No answer is an [HttpException] saying whether the request may have
 * reached the server: [HttpException.Unreachable] when the connection was never made.
 */
class UrlConnectionHttp : HttpClient {
    override fun send(request: HttpRequest): HttpResponse {
        val timeout = request.timeoutMs.toInt()
        val conn =
            try {
                URL(request.url).openConnection() as HttpURLConnection
            } catch (e: IOException) {
                throw HttpException.Unreachable(e.toString())
            }
        try {
            conn.requestMethod = request.method
            conn.instanceFollowRedirects = false
            conn.useCaches = false
            conn.connectTimeout = timeout
            conn.readTimeout = timeout
            for (h in request.headers) conn.addRequestProperty(h.name, h.value)
            val hasBody = request.body.isNotEmpty() || request.method == "POST" || request.method == "PUT"
            if (hasBody) {
                conn.doOutput = true
                conn.setFixedLengthStreamingMode(request.body.size)
            }
            try {
                conn.connect()
            } catch (e: ConnectException) {
                throw HttpException.Unreachable(e.toString())
            } catch (e: UnknownHostException) {
                throw HttpException.Unreachable(e.toString())
            } catch (e: NoRouteToHostException) {
                throw HttpException.Unreachable(e.toString())
            } catch (e: SocketTimeoutException) {
                throw HttpException.Unreachable("connect: $e")
            }
            try {
                if (hasBody) conn.outputStream.use { it.write(request.body) }
                val status = conn.responseCode
                val stream = if (status >= 400) conn.errorStream else runCatching { conn.inputStream }.getOrNull()
                val body = stream?.use { it.readBytes() } ?: ByteArray(0)
                val headers =
                    conn.headerFields.flatMap { (name, values) ->
                        if (name == null) emptyList() else values.map { HttpHeader(name, it) }
                    }
                return HttpResponse(status.toUShort(), headers, body)
            } catch (e: SocketTimeoutException) {
                throw HttpException.TimedOut()
            } catch (e: IOException) {
                throw HttpException.Failed(e.toString())
            }
        } finally {
            conn.disconnect()
        }
    }
}
