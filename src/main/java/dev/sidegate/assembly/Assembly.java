package dev.sidegate.assembly;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.sidegate.auth.Auth;
import dev.sidegate.auth.AuthSettings;
import dev.sidegate.auth.StripIdentityHeaders;
import dev.sidegate.cors.CorsStage;
import dev.sidegate.cors.HandshakeOrigins;
import dev.sidegate.proxy.Pipeline;
import dev.sidegate.proxy.ReadinessCheck;
import dev.sidegate.proxy.Resources;
import dev.sidegate.proxy.Route;
import dev.sidegate.proxy.RouteTable;
import dev.sidegate.proxy.Stage;
import dev.sidegate.ratelimit.RateLimits;
import dev.sidegate.resilience.Resilience;
import dev.sidegate.resilience.UpstreamGuards;
import dev.sidegate.resilience.UpstreamSettings;
import dev.sidegate.transform.TransformStage;
import dev.sidegate.upstream.UpstreamCall;

/**
 * Builds the pipeline of one configuration. The order of the stages, and where each stage's settings come from, is
 * decided here and only here: every route gets its own list, with only the stages it needs.
 *
 * <pre>
 *   cors               answer preflights; CORS headers on answers  (routes with a cors policy, their own or the default)
 *   websocket-origin   refuse handshakes from other sites' pages   (websocket routes with websocket_origins)
 *   identity-headers   strip what only Sidegate may set            (every route)
 *   authenticate       verify the token: who is calling            (auth on; the route's public / permission)
 *   rate-limit         take the client's tokens                    (rate_limits on; the tiers, and the route limits
 *                                                                    whose prefix overlaps the route's)
 *   authorize          answer what auth refused, once counted      (auth on)
 *   transform          the route's request and response edits      (routes with a transform)
 *   plugin 'name'      the route's plugins, in order               (routes with plugins)
 *   resilience         the upstream's bulkhead and breaker, the route's retries and total timeout
 *   trace-upstream     a client span and trace headers per attempt
 *   upstream           the upstream's connection pool, the route's timeouts and Host
 * </pre>
 *
 * Building has no side effects: long-lived parts and guards are prepared, not started or registered, until the
 * {@link Deployment} is activated.
 */
public final class Assembly {
    private Assembly() {
    }

    /**
     * @throws dev.sidegate.config.ConfigException when the configuration cannot be turned into a pipeline (a plugin
     *                                             rejects its config, a route limit is malformed); nothing live changed
     */
    public static Deployment build(SidegateConfig config, SharedParts shared) {
        Resources.Build parts = shared.resources().build();
        try {
            return build(config, shared, parts);
        } catch (RuntimeException e) {
            parts.discard();
            throw e;
        }
    }

    private static Deployment build(SidegateConfig config, SharedParts shared, Resources.Build parts) {
        Optional<Auth> auth = config.auth().map(a -> Auth.create(a, parts, shared.metrics()));
        Optional<RateLimits> limits = config.rateLimits().map(r -> RateLimits.create(
                r, config.server().paths(), parts, shared.metrics(), shared.breakers(), shared.housekeeping()));
        Stage identityHeaders = new StripIdentityHeaders(AuthSettings.strippedHeaders(config.auth()));

        Map<String, UpstreamGuards.Guard> guards = new LinkedHashMap<>();
        for (UpstreamSettings upstream : config.upstreams().values()) {
            guards.put(upstream.name(), shared.guards().prepare(upstream));
        }

        List<Route> routes = new ArrayList<>();
        Map<Route, List<Stage>> stages = new IdentityHashMap<>();
        for (RouteSettings r : config.routes()) {
            Route route = new Route(r.path(), r.methods(), r.upstreamName(), r.caseSensitive(), r.cors().isPresent(),
                                    r.websocket().map(RouteSettings.WebSocket::idleTimeout));
            UpstreamSettings upstream = config.upstreams().get(r.upstreamName());
            List<Stage> list = new ArrayList<>();
            r.cors().ifPresent(c -> list.add(new CorsStage(c)));
            r.websocket().filter(w -> !w.origins().isEmpty()).ifPresent(w -> list.add(new HandshakeOrigins(w.origins())));
            list.add(identityHeaders);
            auth.ifPresent(a -> list.add(a.authenticate(r.path(), r.publicRoute(), r.permission(), r.permissionAudit())));
            limits.ifPresent(l -> list.add(l.stageFor(r.path(), r.caseSensitive())));
            auth.ifPresent(a -> list.add(a.authorize()));
            r.transform().ifPresent(t -> list.add(new TransformStage(t, r.caseSensitive(), shared.bufferBudget())));
            list.addAll(shared.plugins().stagesFor(r.plugins()));
            list.add(new Resilience(r.path(), guards.get(upstream.name()), r.retry(), r.totalTimeout(), shared.metrics()));
            list.add(shared.telemetry().traceUpstream(upstream.name(), upstream.url()));
            list.add(new UpstreamCall(shared.upstreams().http1(upstream.url(), upstream.connections()),
                                      new UpstreamCall.Settings(upstream.url(), r.timeout(), r.connectTimeout(), r.preserveHost())));
            routes.add(route);
            stages.put(route, list);
        }
        Pipeline pipeline = new Pipeline(RouteTable.create(routes, config.server().paths()), stages,
                                         shared.telemetry().observer(config.accessLog()));

        List<ReadinessCheck> checks = new ArrayList<>();
        auth.ifPresent(a -> checks.add(a.readiness()));
        limits.ifPresent(l -> checks.add(l.readiness()));
        List<Runnable> activations = new ArrayList<>();
        activations.add(() -> shared.metrics().redisDegraded(() -> false));
        limits.ifPresent(l -> activations.add(l::activate));
        return new Deployment(config, pipeline, checks, parts, shared.guards(), guards.values(), activations);
    }
}
