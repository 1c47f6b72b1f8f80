package dev.sidegate.upstream;

import java.io.IOException;

import dev.sidegate.proxy.BodyFailure;
import dev.sidegate.proxy.Problem;

/**
 * Why an exchange with an upstream failed, in the terms the pipeline answers with: each {@link Kind} maps to one
 * problem type. The message is safe to log: it never holds request or response bytes beyond a short reason.
 */
public final class UpstreamException extends IOException implements BodyFailure {
    private final Kind kind;

    /** What went wrong, by phase of the exchange. */
    public enum Kind {
        /** The upstream host name does not resolve. */
        UNRESOLVED,
        /** Connection refused or no route to the host. */
        REFUSED,
        /** No TCP connection within the connect timeout. */
        CONNECT_TIMEOUT,
        /** The TLS handshake failed (untrusted certificate, wrong host name, no common protocol). */
        TLS,
        /** Connected, but no response head (or no further body bytes) within the response timeout. */
        RESPONSE_TIMEOUT,
        /** The connection closed or was reset before the response was complete. */
        CLOSED,
        /** The response is ambiguous or invalid: framing, syntax, limits. The connection is never reused. */
        BAD_RESPONSE,
        /** Reading the request body from the client failed: the client's fault, not the upstream's. */
        CLIENT_BODY,
        /** A stage produced a request that cannot be written safely (a control character in a header). */
        BAD_REQUEST
    }

    public UpstreamException(Kind kind, String message) {
        super(message, null);
        this.kind = kind;
    }

    public UpstreamException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    /** The answer when the response body fails before any of it reached the client. */
    @Override
    public Problem problem(String routeId) {
        return switch (kind) {
            case BAD_RESPONSE -> Problem.of(502, "upstream-bad-response", "Bad upstream response",
                                            "the upstream of route " + routeId + " sent an invalid or ambiguous response: "
                                                    + getMessage());
            case RESPONSE_TIMEOUT -> Problem.of(504, "upstream-timeout", "Upstream timeout",
                                                "the upstream of route " + routeId + " stopped sending its response body");
            default -> Problem.of(502, "upstream-failed", "Upstream failed",
                                  "the upstream of route " + routeId + " closed the connection before its response was complete");
        };
    }

    static UpstreamException bad(String reason) {
        return new UpstreamException(Kind.BAD_RESPONSE, reason);
    }
}
