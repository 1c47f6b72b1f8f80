package dev.sidegate.auth;

import dev.sidegate.proxy.Problem;

/**
 * What authentication decided, left on the exchange for {@link Authorize}. Rejections are enforced only after the
 * rate limiter has counted the request, so that floods of bad tokens are throttled like any other traffic.
 */
sealed interface AuthOutcome permits AuthOutcome.Anonymous, AuthOutcome.Authenticated, AuthOutcome.Rejected {

    /** No token, on a route that does not need one (or auth is off). */
    record Anonymous() implements AuthOutcome {
    }

    /** A verified token with the route's permission. */
    record Authenticated() implements AuthOutcome {
    }

    /** Not allowed through: 401, 403 or 503. */
    record Rejected(Problem problem, String reason) implements AuthOutcome {
    }
}
