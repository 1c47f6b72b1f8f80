package dev.sidegate.upstream;

import dev.sidegate.proxy.Headers;
import dev.sidegate.proxy.ResponseBody;

/**
 * The final response of an upstream, its body still on the connection.
 *
 * @param status  the status code
 * @param headers every header field as the upstream sent it, hop-by-hop ones included
 * @param body    the body; closing it before its end closes the connection
 * @param tunnel  the connection itself after a 101 to a request that asked to switch protocols; else null
 */
public record UpstreamResponse(int status, Headers headers, ResponseBody body, dev.sidegate.proxy.UpstreamTunnel tunnel) {

    public UpstreamResponse(int status, Headers headers, ResponseBody body) {
        this(status, headers, body, null);
    }
}
