package dev.sidegate.auth;

import java.util.List;
import java.util.Optional;

import dev.sidegate.proxy.ReadinessCheck;
import dev.sidegate.proxy.Resources;
import dev.sidegate.proxy.Stage;
import dev.sidegate.telemetry.SidegateMetrics;

/**
 * JWT authentication for one configuration: one token verifier (and its shared JWKS cache) that every route's
 * stages use. The assembly asks it for each route's {@link #authenticate} stage and the {@link #authorize} stage.
 */
public final class Auth {
    private final AuthSettings settings;
    private final TokenVerifier verifier;
    private final SidegateMetrics metrics;
    private final Stage authorize = new Authorize();

    private Auth(AuthSettings settings, TokenVerifier verifier, SidegateMetrics metrics) {
        this.settings = settings;
        this.verifier = verifier;
        this.metrics = metrics;
    }

    /** @param parts where the JWKS cache lives, so that a reload with the same JWKS settings keeps it */
    public static Auth create(AuthSettings settings, Resources.Build parts, SidegateMetrics metrics) {
        RemoteKeys remote = settings.keys() instanceof AuthSettings.Jwks jwks
                ? parts.get(jwks, () -> new RemoteKeys(jwks))
                : null;
        return new Auth(settings, new TokenVerifier(settings, remote), metrics);
    }

    /**
     * The stage that verifies a route's tokens, for a route that is public or needs a permission.
     *
     * @param audit audit mode: a verified token without the permission is admitted, counted and logged as denied
     */
    public Stage authenticate(String route, boolean publicRoute, Optional<String> permission, boolean audit) {
        return new Authenticate(verifier, route, publicRoute, permission, audit, settings.forwardAuthorization(),
                                settings.websocketTokens(), metrics);
    }

    /** The stage that answers a request auth refused, once the rate limiter has counted it. */
    public Stage authorize() {
        return authorize;
    }

    /** Whether the keys that verify tokens are there: a JWKS fetched, or a static key. */
    public ReadinessCheck readiness() {
        return verifier;
    }

    /** The identity headers a client may never send: those of the claim mapping and the fixed ones. */
    public List<String> protectedHeaders() {
        return settings.strippedHeaders();
    }
}
