package dev.sidegate.proxy;

/**
 * A response on its way back to the client: from the upstream, or made by a stage (a problem).
 * Whoever drops a response instead of returning it must {@link ResponseBody#close() close} its body.
 *
 * @param status  status code
 * @param headers end-to-end headers
 * @param body    the body, streamed
 * @param problem the problem this response renders when Sidegate made it; null for the upstream's responses
 */
public record ProxyResponse(int status, Headers headers, ResponseBody body, Problem problem) {

    public ProxyResponse(int status, Headers headers, ResponseBody body) {
        this(status, headers, body, null);
    }

    public ProxyResponse withHeaders(Headers newHeaders) {
        return new ProxyResponse(status, newHeaders, body, problem);
    }

    /** Another status: no longer the problem it rendered. */
    public ProxyResponse withStatus(int newStatus) {
        return new ProxyResponse(newStatus, headers, body);
    }

    /**
     * Another body, or the same one wrapped (a stage that releases something when the body is closed); a problem stays
     * that problem, since transforms apply to upstream responses only.
     */
    public ProxyResponse withBody(ResponseBody newBody) {
        return new ProxyResponse(status, headers, newBody, problem);
    }
}
