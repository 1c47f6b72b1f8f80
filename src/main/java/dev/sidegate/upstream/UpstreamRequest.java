package dev.sidegate.upstream;

import dev.sidegate.proxy.Headers;
import dev.sidegate.proxy.RequestBody;

/**
 * One request as it goes on the wire to an upstream.
 *
 * @param method  the method
 * @param target  the request target (path and query) exactly as it goes in the request line
 * @param host    the {@code Host} value
 * @param headers end-to-end headers; any {@code Host}, {@code Content-Length} or {@code Transfer-Encoding} among them
 *                is ignored (the framing follows {@code body})
 * @param body    the body: a known length goes out with {@code Content-Length}, an unknown one chunked
 */
public record UpstreamRequest(String method, String target, String host, Headers headers, RequestBody body) {

    /** Methods whose requests may be sent again after a connection closed without an answer (RFC 9110 9.2.2). */
    boolean idempotent() {
        return switch (method) {
            case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE" -> true;
            default -> false;
        };
    }

    /** Methods that define a meaning for content: a bodiless request still says {@code Content-Length: 0}. */
    boolean expectsBody() {
        return switch (method) {
            case "POST", "PUT", "PATCH" -> true;
            default -> false;
        };
    }
}
