package dev.sidegate.proxy;

import java.util.Optional;

/**
 * The request as it will be sent upstream. Stages pass a changed copy down the chain.
 *
 * @param method   upper-case method
 * @param path     normalised, still percent-encoded path ({@link PathNormalizer})
 * @param rawQuery the query exactly as the client sent it, without '?'; empty when there was none
 * @param headers  end-to-end headers only (hop-by-hop headers are already removed)
 * @param body     the body, streamed
 */
public record ProxyRequest(String method, String path, String rawQuery, Headers headers, RequestBody body) {

    public ProxyRequest withPath(String newPath) {
        return new ProxyRequest(method, newPath, rawQuery, headers, body);
    }

    public ProxyRequest withQuery(String newRawQuery) {
        return new ProxyRequest(method, path, newRawQuery, headers, body);
    }

    public ProxyRequest withHeaders(Headers newHeaders) {
        return new ProxyRequest(method, path, rawQuery, newHeaders, body);
    }

    public ProxyRequest withBody(RequestBody newBody) {
        return new ProxyRequest(method, path, rawQuery, headers, newBody);
    }

    /** Path and query as they appear in the request line. */
    public String target() {
        return rawQuery.isEmpty() ? path : path + "?" + rawQuery;
    }

    public Optional<String> header(String name) {
        return headers.first(name);
    }
}
