package dev.sidegate.auth;

import dev.sidegate.proxy.Problem;

/**
 * What authentication decided for one request. A rejection travels on the exchange ({@code Exchange.deny}) to
 * {@link Authorize}, which answers it only after the rate limiter has counted the request.
 */
sealed interface AuthOutcome permits AuthOutcome.Anonymous, AuthOutcome.Authenticated, AuthOutcome.AuditDenied,
        AuthOutcome.Rejected {

    /** No token, on a route that does not need one (or auth is off). */
    record Anonymous() implements AuthOutcome {
    }

    /** A verified token with the route's permission. */
    record Authenticated() implements AuthOutcome {
    }

    /** A verified token without the route's permission, on a route in audit mode: admitted, counted as a denial. */
    record AuditDenied(String permission) implements AuthOutcome {
    }

    /** Not allowed through: 401, 403 or 503. */
    record Rejected(Problem problem, String reason) implements AuthOutcome {
    }
}
