package dev.sidegate.proxy;

import java.net.InetAddress;

/**
 * What the pipeline knows about one request besides the request itself: the matched route, who the client is,
 * and the trace id. Created once per request on the request's own thread; stages read it.
 *
 * @param route    the route the request matched
 * @param client   the client's addresses and transport
 * @param traceId  id for problem bodies, logs and traces
 */
public record Exchange(Route route, Client client, String traceId) {

    /** Renders a problem for this request, with its trace id. */
    public ProxyResponse problem(Problem problem) {
        return problem.toResponse(traceId);
    }

    /**
     * @param peer     the socket peer
     * @param address  the client's address: the peer, or the right-most untrusted X-Forwarded-For hop when the peer
     *                 is a trusted proxy
     * @param secure   whether the client connection is TLS
     * @param host     the Host the client asked for
     */
    public record Client(InetAddress peer, InetAddress address, boolean secure, String host) {
    }
}
