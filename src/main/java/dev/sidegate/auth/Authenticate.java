package dev.sidegate.auth;

import java.util.Map;
import java.util.Optional;

import dev.sidegate.config.RouteSettings;
import dev.sidegate.proxy.Exchange;
import dev.sidegate.proxy.Headers;
import dev.sidegate.proxy.Problem;
import dev.sidegate.proxy.ProxyRequest;
import dev.sidegate.proxy.ProxyResponse;
import dev.sidegate.proxy.ReadinessCheck;
import dev.sidegate.proxy.Resources;
import dev.sidegate.proxy.Stage;
import dev.sidegate.telemetry.SidegateMetrics;

/**
 * Verifies the bearer token and decides: anonymous, authenticated (identity set on the exchange, identity headers
 * added), or rejected. It never answers itself; {@link Authorize} enforces the decision after rate limiting.
 * The bearer {@code Authorization} header is removed before forwarding unless {@code forward_authorization} is set.
 */
public final class Authenticate implements Stage, ReadinessCheck {
    private static final String REALM = "Bearer realm=\"sidegate\"";

    private final AuthSettings settings;
    private final TokenVerifier verifier;
    private final SidegateMetrics metrics;

    /** @param resources where the JWKS cache lives, so a reload with the same JWKS settings keeps it */
    public Authenticate(AuthSettings settings, SidegateMetrics metrics, Resources.Build resources) {
        this.settings = settings;
        RemoteKeys remote = settings.keys() instanceof AuthSettings.Jwks jwks
                ? resources.get(jwks, () -> new RemoteKeys(jwks))
                : null;
        this.verifier = new TokenVerifier(settings, remote);
        this.metrics = metrics;
    }

    public AuthSettings settings() {
        return settings;
    }

    @Override
    public String name() {
        return "authenticate";
    }

    @Override
    public ProxyResponse apply(ProxyRequest request, Chain chain) {
        Exchange exchange = chain.exchange();
        RouteSettings route = exchange.route().settings();
        BearerToken.Credentials credentials = BearerToken.from(request.headers());
        Headers.Builder headers = null;
        if (credentials instanceof BearerToken.Bearer && !settings.forwardAuthorization()) {
            headers = request.headers().toBuilder().remove("Authorization");
        }
        AuthOutcome outcome = switch (credentials) {
            case BearerToken.None none -> route.publicRoute() ? new AuthOutcome.Anonymous() : missing("no bearer token");
            case BearerToken.OtherScheme other -> route.publicRoute() ? new AuthOutcome.Anonymous()
                    : missing("the Authorization header is not a bearer token");
            case BearerToken.Malformed malformed -> route.publicRoute() ? new AuthOutcome.Anonymous()
                    : invalid(malformed.reason());
            case BearerToken.Bearer bearer -> {
                TokenVerifier.Result result = verifier.verify(bearer.token());
                yield switch (result) {
                    case TokenVerifier.Verified verified -> {
                        exchange.identity(verified.identity());
                        if (headers == null) {
                            headers = request.headers().toBuilder();
                        }
                        for (Map.Entry<String, String> h : verified.headers()) {
                            headers.set(h.getKey(), h.getValue());
                        }
                        yield permitted(route.permission(), verified);
                    }
                    case TokenVerifier.Invalid invalid -> route.publicRoute() ? new AuthOutcome.Anonymous()
                            : invalid(invalid.reason());
                    case TokenVerifier.KeysUnavailable unavailable -> route.publicRoute() ? new AuthOutcome.Anonymous()
                            : new AuthOutcome.Rejected(Problem.of(503, "auth-keys-unavailable", "Signing keys unavailable",
                                                                  "the keys that verify tokens cannot be fetched")
                                                               .withHeader("Retry-After", "5"), "keys_unavailable");
                };
            }
        };
        exchange.note(AuthOutcome.class, outcome);
        boolean presentedButUnverified = !(credentials instanceof BearerToken.None || credentials instanceof BearerToken.OtherScheme)
                && exchange.identity().isEmpty();
        if (outcome instanceof AuthOutcome.Rejected || presentedButUnverified) {
            exchange.credentialsRejected();
        }
        switch (outcome) {
            case AuthOutcome.Anonymous a -> exchange.annotate("auth.result", "anonymous");
            case AuthOutcome.Authenticated a -> exchange.annotate("auth.result", "authenticated");
            case AuthOutcome.Rejected r -> {
                exchange.annotate("auth.result", r.reason());
                metrics.authFailure(r.reason());
            }
        }
        return chain.proceed(headers == null ? request : request.withHeaders(headers.build()));
    }

    private static AuthOutcome permitted(Optional<String> permission, TokenVerifier.Verified verified) {
        if (permission.isEmpty() || verified.identity().permissions().contains(permission.get())) {
            return new AuthOutcome.Authenticated();
        }
        String p = permission.get();
        Problem problem = Problem.of(403, "insufficient-scope", "Insufficient scope",
                                     "the token lacks the permission " + p + " that this route requires")
                .withHeader("WWW-Authenticate", REALM + ", error=\"insufficient_scope\", scope=\"" + p + "\"");
        return new AuthOutcome.Rejected(problem, "insufficient_scope");
    }

    private static AuthOutcome missing(String detail) {
        Problem problem = Problem.of(401, "unauthorized", "Unauthorized", detail + "; this route requires one")
                .withHeader("WWW-Authenticate", REALM);
        return new AuthOutcome.Rejected(problem, "missing_token");
    }

    private static AuthOutcome invalid(String reason) {
        Problem problem = Problem.of(401, "invalid-token", "Invalid token", reason)
                .withHeader("WWW-Authenticate", REALM + ", error=\"invalid_token\", error_description=\"" + reason + "\"");
        return new AuthOutcome.Rejected(problem, "invalid_token");
    }

    @Override
    public Status readiness() {
        return verifier.readiness();
    }
}
