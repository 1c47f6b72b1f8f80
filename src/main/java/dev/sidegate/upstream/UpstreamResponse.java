package dev.sidegate.upstream;

import dev.sidegate.proxy.Headers;
import dev.sidegate.proxy.ResponseBody;

/**
 * The final response of an upstream, its body still on the connection.
 *
 * @param status  the status code
 * @param headers every header field as the upstream sent it, hop-by-hop ones included
 * @param body    the body; closing it before its end closes the connection
 */
public record UpstreamResponse(int status, Headers headers, ResponseBody body) {
}
