package dev.sidegate.admin;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sidegate.auth.AuthSettings;
import dev.sidegate.config.Durations;
import dev.sidegate.ratelimit.Limit;
import dev.sidegate.resilience.BreakerSettings;
import dev.sidegate.resilience.UpstreamSettings;
import dev.sidegate.ratelimit.RateLimitSettings;
import dev.sidegate.config.ReloadStatus;
import dev.sidegate.assembly.RouteSettings;
import dev.sidegate.config.ServerSettings;
import dev.sidegate.assembly.SidegateConfig;
import dev.sidegate.transform.TransformSettings;
import dev.sidegate.cors.CorsSettings;

/**
 * The effective configuration as JSON for {@code GET /admin/config}: every value Sidegate uses, after environment
 * variables and defaults, with secrets replaced by {@code "<redacted>"}.
 */
final class EffectiveConfig {
    static final String REDACTED = "<redacted>";
    /** Made on the first request for the view, not at start (Jackson's databind is slow to set up). */
    private static final class Mapper {
        static final ObjectMapper JSON = dev.sidegate.proxy.Json.mapper().enable(SerializationFeature.INDENT_OUTPUT);
    }

    private EffectiveConfig() {
    }

    static byte[] render(SidegateConfig config, ReloadStatus reload) {
        Map<String, Object> root = new LinkedHashMap<>();
        Map<String, Object> source = new LinkedHashMap<>();
        source.put("file", config.source().file().map(Object::toString).orElse(null));
        source.put("version", config.source().version());
        source.put("loaded_at", config.source().loadedAt().toString());
        root.put("source", source);
        Map<String, Object> reloads = new LinkedHashMap<>();
        reloads.put("last_rejected_at", reload.rejectedAt() == null ? null : reload.rejectedAt().toString());
        reloads.put("last_rejected_reason", reload.rejectedReason());
        reloads.put("restart_required", reload.restartRequired());
        root.put("reload", reloads);
        root.put("server", server(config.server()));
        root.put("upstream", config.defaultUpstream().toString());
        root.put("routes_declared", config.routesDeclared());
        List<Object> routes = new ArrayList<>();
        for (RouteSettings r : config.routes()) {
            routes.add(route(r));
        }
        root.put("routes", routes);
        Map<String, Object> upstreams = new LinkedHashMap<>();
        config.upstreams().forEach((name, u) -> upstreams.put(name, upstream(u)));
        root.put("upstreams", upstreams);
        root.put("auth", config.auth().map(EffectiveConfig::auth).orElse(null));
        root.put("rate_limits", config.rateLimits().map(EffectiveConfig::rateLimits).orElse(null));
        try {
            return Mapper.JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, Object> server(ServerSettings s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("port", s.port());
        m.put("admin_port", s.adminPort());
        m.put("tls", s.tls().map(t -> Map.of("cert", t.certificate().toString(), "key", t.privateKey().toString()))
                .orElse(null));
        m.put("drain_timeout", Durations.format(s.drainTimeout()));
        m.put("header_timeout", Durations.format(s.headerTimeout()));
        m.put("idle_timeout", Durations.format(s.idleTimeout()));
        m.put("max_header_size", s.maxHeaderSize());
        m.put("max_request_line", s.maxRequestLine());
        m.put("max_connections", s.maxConnections());
        m.put("max_connections_per_ip", s.maxConnectionsPerIp());
        m.put("max_buffered_body_bytes", s.maxBufferedBodyBytes());
        m.put("trusted_proxies", s.trustedProxies().stream().map(Object::toString).toList());
        m.put("paths", Map.of("encoded_slashes", s.paths().rejectEncodedSlashes() ? "reject" : "keep",
                              "semicolons", s.paths().rejectSemicolons() ? "reject" : "keep"));
        return m;
    }

    private static Map<String, Object> auth(AuthSettings a) {
        Map<String, Object> m = new LinkedHashMap<>();
        switch (a.keys()) {
            case AuthSettings.Jwks jwks -> {
                m.put("jwks_url", jwks.url().toString());
                m.put("jwks", Map.of("cache_ttl", Durations.format(jwks.cacheTtl()),
                                     "refresh_min_interval", Durations.format(jwks.refreshMinInterval())));
            }
            case AuthSettings.PublicKeyFile file -> m.put("public_key", file.file().toString());
            case AuthSettings.HmacSecret hmac -> m.put("hmac_secret", REDACTED);
        }
        m.put("issuer", a.issuer());
        m.put("audience", a.audiences());
        m.put("clock_skew", Durations.format(a.clockSkew()));
        m.put("claims", a.claimHeaders());
        m.put("permissions_claims", a.permissionsClaims());
        m.put("tier_claim", a.tierClaim());
        m.put("forward_authorization", a.forwardAuthorization());
        m.put("verified_token_cache", a.cacheSize());
        return m;
    }

    private static Map<String, Object> upstream(UpstreamSettings u) {
        Map<String, Object> m = new LinkedHashMap<>();
        BreakerSettings b = u.breaker();
        m.put("url", u.url().toString());
        m.put("max_concurrent", u.maxConcurrent());
        Map<String, Object> breaker = new LinkedHashMap<>();
        breaker.put("enabled", b.enabled());
        breaker.put("window", b.timeWindow() ? "time" : "count");
        breaker.put("window_size", b.windowSize());
        breaker.put("minimum_calls", b.minimumCalls());
        breaker.put("failure_rate", Math.round(b.failureRate()));
        breaker.put("slow_call_duration", Durations.format(b.slowCallDuration()));
        breaker.put("slow_call_rate", Math.round(b.slowCallRate()));
        breaker.put("wait_in_open", Durations.format(b.waitInOpen()));
        breaker.put("half_open_calls", b.halfOpenCalls());
        breaker.put("failure_statuses", b.failureStatuses().stream().sorted().toList());
        m.put("circuit_breaker", breaker);
        return m;
    }

    private static Map<String, Object> rateLimits(RateLimitSettings r) {
        Map<String, Object> m = new LinkedHashMap<>();
        Map<String, Object> tiers = new LinkedHashMap<>();
        r.tiers().forEach((name, limit) -> tiers.put(name, limit(limit)));
        Map<String, Object> routes = new LinkedHashMap<>();
        r.routes().forEach((prefix, limit) -> routes.put(prefix, limit(limit)));
        m.put("tiers", tiers);
        m.put("routes", routes);
        m.put("redis", r.redis().map(redis -> Map.of("urls", redis.redactedUrls(), "cluster", redis.cluster(),
                                                    "timeout", Durations.format(redis.timeout()),
                                                    "ca_file", redis.caFile().map(Object::toString).orElse("")))
                .orElse(null));
        m.put("on_redis_failure", r.onRedisFailure().name().toLowerCase(java.util.Locale.ROOT));
        m.put("local_share", r.localShare());
        m.put("api_key_header", r.apiKeyHeader().orElse(null));
        m.put("legacy_headers", r.legacyHeaders());
        return m;
    }

    private static Map<String, Object> limit(Limit limit) {
        return Map.of("requests", limit.requests(), "window", Durations.format(limit.window()), "enforce", limit.enforce());
    }

    private static Map<String, Object> route(RouteSettings r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("path", r.path());
        m.put("methods", r.methods().isEmpty() ? "all" : r.methods());
        m.put("upstream", r.upstreamName());
        m.put("upstream_url", r.upstream().toString());
        m.put("timeout", Durations.format(r.timeout()));
        m.put("connect_timeout", Durations.format(r.connectTimeout()));
        m.put("total_timeout", Durations.format(r.totalTimeout()));
        Map<String, Object> retry = new LinkedHashMap<>();
        retry.put("attempts", r.retry().attempts());
        retry.put("backoff", Durations.format(r.retry().backoff()));
        List<Object> conditions = new ArrayList<>();
        if (r.retry().onConnectFailure()) {
            conditions.add("connect_failure");
        }
        r.retry().onStatuses().stream().sorted().forEach(conditions::add);
        retry.put("conditions", conditions);
        m.put("retry", retry);
        m.put("public", r.publicRoute());
        m.put("permission", r.permission().orElse(null));
        m.put("permission_mode", r.permissionAudit() ? "audit" : "enforce");
        m.put("preserve_host", r.preserveHost());
        m.put("cors", r.cors().map(EffectiveConfig::cors).orElse(null));
        m.put("websocket", r.websocket().isPresent());
        m.put("websocket_idle_timeout", r.websocket().map(w -> Durations.format(w.idleTimeout())).orElse(null));
        m.put("websocket_origins", r.websocket().map(w -> w.origins().stream().map(Object::toString).toList()).orElse(null));
        m.put("transform", r.transform().map(EffectiveConfig::transform).orElse(null));
        // Plugin config blocks are the plugin's to interpret and may hold credentials: names only.
        m.put("plugins", r.plugins().stream().map(p -> p.name()).toList());
        return m;
    }

    private static Map<String, Object> cors(CorsSettings c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("allowed_origins", c.anyOrigin() ? List.of("*") : c.origins().stream().map(Object::toString).toList());
        m.put("allowed_methods", List.copyOf(c.methods()));
        m.put("allowed_headers", c.anyHeader() ? List.of("*") : List.copyOf(c.headers()));
        m.put("exposed_headers", c.exposedHeaders());
        m.put("allow_credentials", c.credentials());
        m.put("max_age", Durations.format(c.maxAge()));
        return m;
    }

    private static Map<String, Object> transform(TransformSettings t) {
        Map<String, Object> request = new LinkedHashMap<>();
        request.put("headers", headers(t.request().headers()));
        request.put("path", t.request().path().map(p -> switch (p) {
            case TransformSettings.Prefix prefix -> "replace_prefix " + prefix.from() + " -> " + prefix.to();
            case TransformSettings.Regex regex -> "regex " + regex.pattern().pattern() + " -> " + regex.replacement();
        }).orElse(null));
        request.put("query", Map.of("add", List.copyOf(t.request().query().add().keySet()), "remove", t.request().query().remove()));
        request.put("body", t.request().body().map(TransformSettings.Jq::source).orElse(null));
        Map<String, Object> response = new LinkedHashMap<>();
        Map<String, Integer> status = new LinkedHashMap<>();
        t.response().status().forEach((from, to) -> status.put(String.valueOf(from), to));
        response.put("status", status);
        response.put("headers", headers(t.response().headers()));
        response.put("body", t.response().body().map(TransformSettings.Jq::source).orElse(null));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("max_body_bytes", t.maxBodyBytes());
        m.put("non_json", t.passNonJson() ? "pass" : "reject");
        m.put("request", request);
        m.put("response", response);
        return m;
    }

    /** Header names only: values set by configuration may be credentials for the upstream. */
    private static Map<String, Object> headers(TransformSettings.HeaderEdits edits) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("remove", edits.remove());
        m.put("rename", edits.rename());
        m.put("set", List.copyOf(edits.set().keySet()));
        m.put("add", List.copyOf(edits.add().keySet()));
        return m;
    }
}
