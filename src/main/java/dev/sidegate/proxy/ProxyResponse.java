package dev.sidegate.proxy;

/**
 * A response on its way back to the client: from the upstream, or made by a stage (a problem).
 * Whoever drops a response instead of returning it must {@link ResponseBody#close() close} its body.
 *
 * @param status  status code
 * @param headers end-to-end headers
 * @param body    the body, streamed
 */
public record ProxyResponse(int status, Headers headers, ResponseBody body) {

    public ProxyResponse withHeaders(Headers newHeaders) {
        return new ProxyResponse(status, newHeaders, body);
    }

    public ProxyResponse withStatus(int newStatus) {
        return new ProxyResponse(newStatus, headers, body);
    }

    public ProxyResponse withBody(ResponseBody newBody) {
        return new ProxyResponse(status, headers, newBody);
    }
}
