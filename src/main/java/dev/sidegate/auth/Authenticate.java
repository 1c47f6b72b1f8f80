package dev.sidegate.auth;

import java.util.Map;
import java.util.Optional;

import dev.sidegate.proxy.Exchange;
import dev.sidegate.proxy.Headers;
import dev.sidegate.proxy.Problem;
import dev.sidegate.proxy.ProxyRequest;
import dev.sidegate.proxy.ProxyResponse;
import dev.sidegate.proxy.Stage;
import dev.sidegate.telemetry.SidegateMetrics;

/**
 * Verifies the bearer token and decides, for one route: anonymous, authenticated (identity set on the exchange,
 * identity headers added), or refused. It never answers itself; {@link Authorize} answers a refusal after rate
 * limiting. The bearer {@code Authorization} header is removed before forwarding unless {@code forward_authorization}
 * is set.
 */
final class Authenticate implements Stage {
    private static final String REALM = "Bearer realm=\"sidegate\"";

    private final TokenVerifier verifier;
    private final boolean publicRoute;
    private final Optional<String> permission;
    private final boolean audit;
    private final String route;
    private final boolean forwardAuthorization;
    private final AuthSettings.WebSocketTokens websocketTokens;
    private final SidegateMetrics metrics;

    Authenticate(TokenVerifier verifier, String route, boolean publicRoute, Optional<String> permission, boolean audit,
                 boolean forwardAuthorization, AuthSettings.WebSocketTokens websocketTokens, SidegateMetrics metrics) {
        this.websocketTokens = websocketTokens;
        this.verifier = verifier;
        this.route = route;
        this.publicRoute = publicRoute;
        this.permission = permission;
        this.audit = audit;
        this.forwardAuthorization = forwardAuthorization;
        this.metrics = metrics;
    }

    @Override
    public String name() {
        return "authenticate";
    }

    @Override
    public ProxyResponse apply(ProxyRequest request, Chain chain) {
        Exchange exchange = chain.exchange();
        BearerToken.Credentials credentials = BearerToken.from(request.headers());
        Headers.Builder headers = null;
        if (credentials instanceof BearerToken.Bearer && !forwardAuthorization) {
            headers = request.headers().toBuilder().remove("Authorization");
        }
        if (credentials instanceof BearerToken.None && exchange.upgrade().isPresent()) {
            // The token a browser's WebSocket can carry; it goes no further than Sidegate.
            Optional<BearerToken.FromHandshake> carried = BearerToken.fromHandshake(request.headers(), websocketTokens.cookie(),
                                                                                     websocketTokens.protocolPrefix());
            if (carried.isPresent()) {
                credentials = carried.get().credentials();
                headers = carried.get().withoutToken().toBuilder();
            }
        }
        AuthOutcome outcome = switch (credentials) {
            case BearerToken.None none -> publicRoute ? new AuthOutcome.Anonymous() : missing("no bearer token");
            case BearerToken.OtherScheme other -> publicRoute ? new AuthOutcome.Anonymous()
                    : missing("the Authorization header is not a bearer token");
            case BearerToken.Malformed malformed -> publicRoute ? new AuthOutcome.Anonymous()
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
                        yield permitted(permission, audit, verified);
                    }
                    case TokenVerifier.Invalid invalid -> publicRoute ? new AuthOutcome.Anonymous()
                            : invalid(invalid.reason());
                    case TokenVerifier.KeysUnavailable unavailable -> publicRoute ? new AuthOutcome.Anonymous()
                            : new AuthOutcome.Rejected(Problem.of(503, "auth-keys-unavailable", "Signing keys unavailable",
                                                                  "the keys that verify tokens cannot be fetched")
                                                               .withHeader("Retry-After", "5"), "keys_unavailable");
                };
            }
        };
        boolean presentedButUnverified = !(credentials instanceof BearerToken.None || credentials instanceof BearerToken.OtherScheme)
                && exchange.identity().isEmpty();
        if (outcome instanceof AuthOutcome.Rejected || presentedButUnverified) {
            exchange.credentialsRejected();
        }
        switch (outcome) {
            case AuthOutcome.Anonymous a -> exchange.annotate("auth.result", "anonymous");
            case AuthOutcome.Authenticated a -> exchange.annotate("auth.result", "authenticated");
            case AuthOutcome.AuditDenied a -> {
                exchange.annotate("auth.result", "audit_denied");
                exchange.annotate("auth.audit_missing_permission", a.permission());
                metrics.permissionAudited(route);
            }
            case AuthOutcome.Rejected r -> {
                exchange.annotate("auth.result", r.reason());
                exchange.deny(r.problem());
                metrics.authFailure(r.reason());
            }
        }
        return chain.proceed(headers == null ? request : request.withHeaders(headers.build()));
    }

    private static AuthOutcome permitted(Optional<String> permission, boolean audit, TokenVerifier.Verified verified) {
        if (permission.isEmpty() || verified.identity().permissions().contains(permission.get())) {
            return new AuthOutcome.Authenticated();
        }
        String p = permission.get();
        if (audit) {
            return new AuthOutcome.AuditDenied(p);
        }
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
}
