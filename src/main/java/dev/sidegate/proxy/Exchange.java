package dev.sidegate.proxy;

import java.net.InetAddress;
import java.util.Map;
import java.util.Optional;

/**
 * What the pipeline knows about one request besides the request itself, each fact in a typed place: the matched
 * route, the client, the trace id, who auth found the caller to be (or why it refused), and how the last upstream
 * attempt went. Created per request and used only on that request's thread.
 */
public final class Exchange {
    private final Route route;
    private final Client client;
    private final String traceId;
    private final String requestId;
    private Identity identity;
    private boolean credentialsRejected;
    private Problem denial;
    private UpstreamAttempt attempt;
    private Map<String, String> annotations;
    private Headers answerHeaders = Headers.empty();
    private String upgrade;
    private UpstreamTunnel tunnel;

    public Exchange(Route route, Client client, String traceId, String requestId) {
        this.route = route;
        this.client = client;
        this.traceId = traceId;
        this.requestId = requestId;
    }

    /** The route the request matched. */
    public Route route() {
        return route;
    }

    /** The client's addresses and transport. */
    public Client client() {
        return client;
    }

    /** Id for problem bodies, logs and traces. */
    public String traceId() {
        return traceId;
    }

    /** The request's id ({@link RequestIds}): sent upstream, returned to the client, in logs and problems. */
    public String requestId() {
        return requestId;
    }

    /** The verified identity; empty for anonymous requests and when auth is off. */
    public Optional<Identity> identity() {
        return Optional.ofNullable(identity);
    }

    /** Set by auth once a token is verified. */
    public void identity(Identity verified) {
        this.identity = verified;
    }

    /**
     * Set by auth when the request carried credentials that did not verify, or lacked those its route requires: such
     * a request has no identity of its own, and the rate limiter keys it by client IP whatever else it claims.
     */
    public void credentialsRejected() {
        this.credentialsRejected = true;
    }

    public boolean hasRejectedCredentials() {
        return credentialsRejected;
    }

    /**
     * Set by auth: the request is not allowed through, and this is its answer. It is given only after the rate
     * limiter counted the request, so that floods of bad tokens are throttled like any other traffic.
     */
    public void deny(Problem answer) {
        this.denial = answer;
    }

    public Optional<Problem> denial() {
        return Optional.ofNullable(denial);
    }

    /** Set by the upstream call for every attempt; read by the breaker, retries, transforms and telemetry. */
    public void attempt(UpstreamAttempt outcome) {
        this.attempt = outcome;
    }

    /** How the last upstream attempt went; empty when the upstream was not called. */
    public Optional<UpstreamAttempt> attempt() {
        return Optional.ofNullable(attempt);
    }

    /**
     * Records a pipeline decision for telemetry (span attribute {@code sidegate.<key>}, access log field), e.g.
     * {@code rate_limit.decision = denied}. Values must come from small fixed sets or configuration, never from
     * tokens or secrets.
     */
    public void annotate(String key, String value) {
        if (annotations == null) {
            annotations = new java.util.LinkedHashMap<>(8);
        }
        annotations.put(key, value);
    }

    public Map<String, String> annotations() {
        return annotations == null ? Map.of() : annotations;
    }

    /**
     * Adds headers that every answer to this request carries, the upstream's and Sidegate's own problems alike
     * (the CORS headers); a later call for the same name replaces the value.
     */
    public void addAnswerHeaders(Headers headers) {
        Headers.Builder b = answerHeaders.toBuilder();
        headers.forEach(b::set);
        answerHeaders = b.build();
    }

    /** What {@link #addAnswerHeaders} collected; empty for most requests. */
    public Headers answerHeaders() {
        return answerHeaders;
    }

    /** Set by the handler for a WebSocket handshake: the protocol the client asks to switch to. */
    public void upgradeRequested(String protocol) {
        this.upgrade = protocol;
    }

    /** The protocol the client asks to switch to ({@code websocket}); empty for ordinary requests. */
    public Optional<String> upgrade() {
        return Optional.ofNullable(upgrade);
    }

    /** Set by the upstream call when the upstream switched protocols (101): the connection, now a tunnel. */
    public void tunnel(UpstreamTunnel opened) {
        this.tunnel = opened;
    }

    public Optional<UpstreamTunnel> tunnel() {
        return Optional.ofNullable(tunnel);
    }

    /** Renders a problem for this request, with its trace and request ids. */
    public ProxyResponse problem(Problem problem) {
        return problem.toResponse(traceId, requestId);
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
