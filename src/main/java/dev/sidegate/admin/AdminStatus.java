package dev.sidegate.admin;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import dev.sidegate.assembly.Deployment;
import dev.sidegate.assembly.RouteSettings;
import dev.sidegate.assembly.SidegateConfig;
import dev.sidegate.auth.AuthSettings;
import dev.sidegate.config.Durations;
import dev.sidegate.config.ReloadStatus;
import dev.sidegate.proxy.ReadinessCheck;
import dev.sidegate.proxy.Route;
import dev.sidegate.proxy.Stage;
import dev.sidegate.ratelimit.Limit;
import dev.sidegate.ratelimit.RateLimitSettings;
import dev.sidegate.resilience.UpstreamGuards;
import dev.sidegate.telemetry.RecentProblems;
import dev.sidegate.telemetry.SidegateMetrics;

/**
 * What the sidecar is doing now, as one JSON document ({@code GET /admin/status}, which the admin page polls): routes
 * with their stages, upstreams with breaker and bulkhead state, WebSocket tunnels, decisions per rate limit, Redis and JWKS state, the
 * configuration version and the last reload, and the last problems answered. Reading it changes nothing.
 */
public final class AdminStatus {
    private final Supplier<Deployment> deployment;
    private final Readiness readiness;
    private final UpstreamGuards guards;
    private final SidegateMetrics metrics;
    private final RecentProblems problems;
    private final Supplier<ReloadStatus> reloads;
    private final dev.sidegate.proxy.Tunnels tunnels;
    private final Instant startedAt = Instant.now();

    public AdminStatus(Supplier<Deployment> deployment, Readiness readiness, UpstreamGuards guards, SidegateMetrics metrics,
                       RecentProblems problems, Supplier<ReloadStatus> reloads, dev.sidegate.proxy.Tunnels tunnels) {
        this.tunnels = tunnels;
        this.deployment = deployment;
        this.readiness = readiness;
        this.guards = guards;
        this.metrics = metrics;
        this.problems = problems;
        this.reloads = reloads;
    }

    public Map<String, Object> snapshot() {
        Deployment live = deployment.get();
        SidegateConfig config = live.config();
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("generated_at", Instant.now().toString());
        root.put("started_at", startedAt.toString());
        root.put("config", configSection(config));
        root.put("ready", readiness.call().status() == io.helidon.health.HealthCheckResponse.Status.UP);
        root.put("draining", readiness.isDraining());
        root.put("reload", reload(reloads.get()));
        root.put("routes", routes(live));
        root.put("upstreams", guards.describe());
        root.put("tunnels", Map.of("open", tunnels.open(), "max", tunnels.max()));
        root.put("rate_limits", rateLimits(config, live));
        root.put("auth", auth(config, live));
        root.put("recent_problems", recentProblems());
        return root;
    }

    private static Map<String, Object> configSection(SidegateConfig config) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", config.source().version());
        m.put("file", config.source().file().map(Object::toString).orElse(null));
        return m;
    }

    private static Map<String, Object> reload(ReloadStatus status) {
        Map<String, Object> m = new LinkedHashMap<>();
        ReloadStatus.Last last = status.last();
        if (last == null) {
            m.put("last", null);
        } else {
            Map<String, Object> l = new LinkedHashMap<>();
            l.put("at", last.at().toString());
            l.put("trigger", last.trigger());
            l.put("result", last.result());
            l.put("version", last.version());
            l.put("error", last.error());
            m.put("last", l);
        }
        m.put("last_rejected_at", status.rejectedAt() == null ? null : status.rejectedAt().toString());
        m.put("last_rejected_reason", status.rejectedReason());
        m.put("restart_required", status.restartRequired());
        return m;
    }

    private static List<Object> routes(Deployment live) {
        List<Object> all = new ArrayList<>();
        List<RouteSettings> settings = live.config().routes();
        for (RouteSettings r : settings) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("path", r.path());
            m.put("methods", r.methods().isEmpty() ? List.of() : r.methods().stream().sorted().toList());
            m.put("upstream", r.upstreamName());
            m.put("public", r.publicRoute());
            m.put("permission", r.permission().orElse(null));
            m.put("permission_mode", r.permissionAudit() ? "audit" : "enforce");
            m.put("stages", stages(live, r));
            all.add(m);
        }
        return all;
    }

    private static List<String> stages(Deployment live, RouteSettings r) {
        for (Route route : live.pipeline().routes().routes()) {
            if (route.id().equals(r.path()) && route.methods().equals(r.methods())) {
                return live.pipeline().stages(route).stream().map(Stage::name).toList();
            }
        }
        return List.of();
    }

    private Map<String, Object> rateLimits(SidegateConfig config, Deployment live) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("enabled", config.rateLimits().isPresent());
        m.put("state", component(live, "rate_limits"));
        Map<String, Map<String, Long>> counts = metrics.limitDecisionCounts();
        List<Object> limits = new ArrayList<>();
        config.rateLimits().ifPresent(r -> {
            r.tiers().forEach((name, limit) -> limits.add(limit("tier", name, limit, counts)));
            r.routes().forEach((prefix, limit) -> limits.add(limit("route", prefix, limit, counts)));
        });
        m.put("limits", limits);
        m.put("redis", config.rateLimits().flatMap(RateLimitSettings::redis).map(redis -> redis.redactedUrls()).orElse(null));
        return m;
    }

    private static Map<String, Object> limit(String kind, String name, Limit limit, Map<String, Map<String, Long>> counts) {
        Map<String, Object> m = new LinkedHashMap<>();
        Map<String, Long> c = counts.getOrDefault(name, Map.of());
        m.put("kind", kind);
        m.put("name", name);
        m.put("requests", limit.requests());
        m.put("window", Durations.format(limit.window()));
        m.put("enforce", limit.enforce());
        m.put("allowed", c.getOrDefault("allowed", 0L));
        m.put("denied", c.getOrDefault("denied", 0L));
        m.put("shadow_denied", c.getOrDefault("shadow_denied", 0L));
        return m;
    }

    private static Map<String, Object> auth(SidegateConfig config, Deployment live) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("enabled", config.auth().isPresent());
        config.auth().ifPresent(a -> {
            m.put("keys", switch (a.keys()) {
                case AuthSettings.Jwks j -> "jwks " + j.url();
                case AuthSettings.PublicKeyFile p -> "public key file";
                case AuthSettings.HmacSecret h -> "hmac secret";
            });
            m.put("issuer", a.issuer());
        });
        m.put("state", config.auth().isPresent() ? component(live, "jwks", "auth keys") : null);
        return m;
    }

    private static Map<String, Object> component(Deployment live, String... names) {
        for (ReadinessCheck check : live.readinessChecks()) {
            ReadinessCheck.Status s = check.readiness();
            for (String name : names) {
                if (s.component().equals(name)) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("ready", s.ready());
                    m.put("detail", s.detail());
                    return m;
                }
            }
        }
        return null;
    }

    private Map<String, Object> recentProblems() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("total", problems.total());
        List<Object> items = new ArrayList<>();
        for (RecentProblems.Answered a : problems.newestFirst()) {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("time", a.time().toString());
            p.put("status", a.status());
            p.put("type", a.type());
            p.put("method", a.method());
            p.put("path", a.path());
            p.put("route", a.route());
            p.put("detail", a.detail());
            p.put("trace_id", a.traceId());
            p.put("request_id", a.requestId());
            items.add(p);
        }
        m.put("items", items);
        return m;
    }
}
