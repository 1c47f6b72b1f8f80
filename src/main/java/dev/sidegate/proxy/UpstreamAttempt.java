package dev.sidegate.proxy;

/**
 * How the last call to the upstream went, left on the exchange by the upstream call for the resilience stage
 * (circuit breaker, retries). A new attempt replaces the note.
 */
public sealed interface UpstreamAttempt {

    /** Whether any request body bytes went to the upstream (then the request is not retried). */
    boolean bodySent();

    /** The upstream answered with this status (response headers received). */
    record Responded(int status, boolean bodySent) implements UpstreamAttempt {
    }

    /** No connection: refused, unroutable, unresolvable, or the connect timeout. Nothing reached the upstream. */
    record ConnectFailed(Problem problem) implements UpstreamAttempt {
        @Override
        public boolean bodySent() {
            return false;
        }
    }

    /** Connected, but no response headers within the timeout. */
    record TimedOut(Problem problem, boolean bodySent) implements UpstreamAttempt {
    }

    /** Connected, then the connection broke or the response was invalid. */
    record Failed(Problem problem, boolean bodySent) implements UpstreamAttempt {
    }

    /** The client's request body broke; not the upstream's fault. */
    record ClientFailed(Problem problem, boolean bodySent) implements UpstreamAttempt {
    }
}
