package dev.sidegate.telemetry;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * Sidegate's meters, in a Micrometer Prometheus registry of this Sidegate's own (exported on the admin port at
 * {@code /observe/metrics}), with Micrometer's JVM and process meters (the collector's from {@link GcMeters}). Label
 * values come from small fixed sets and configuration: never user ids, raw paths or tokens. Meters on the request path are looked up once per label set
 * and kept: building a meter id per request cost about 10% of a proxied request's CPU (loadtest/).
 */
public final class SidegateMetrics implements AutoCloseable {
    private static final Duration[] BUCKETS = durations(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000);
    private static final Duration[] REDIS_BUCKETS = durations(1, 2, 5, 10, 25, 50, 100);

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Map<List<String>, Counter> counters = new ConcurrentHashMap<>();
    private final Map<List<String>, Timer> timers = new ConcurrentHashMap<>();
    private final AtomicReference<BooleanSupplier> redisDegraded = new AtomicReference<>(() -> false);
    private final Map<String, IntSupplier> circuitStates = new ConcurrentHashMap<>();
    private final Timer redisCalls;
    private final Counter redisErrors;
    // The meters the request path touches, by their one varying label, so a lookup allocates nothing.
    private final Map<RequestKey, RequestMeters> requestMeters = new ConcurrentHashMap<>();
    private final Map<String, Timer> upstreamCalls = new ConcurrentHashMap<>();
    private final Map<String, Counter> rateLimitDecisions = new ConcurrentHashMap<>();
    private final Map<String, Counter> authFailures = new ConcurrentHashMap<>();
    private final Map<String, Counter> upstreamRetries = new ConcurrentHashMap<>();
    private final Map<String, Counter> permissionAudits = new ConcurrentHashMap<>();

    private record RequestKey(String route, String method, String statusClass) {
    }

    private record RequestMeters(Counter count, Timer duration) {
    }

    public SidegateMetrics() {
        new JvmMemoryMetrics().bindTo(registry);
        GcMeters.bindTo(registry); // polled, not notified: see GcMeters
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        Gauge.builder("sidegate.rate_limit.redis_degraded", redisDegraded, r -> r.get().getAsBoolean() ? 1 : 0)
                .description("1 while rate limits come from the Redis failure policy instead of Redis")
                .register(registry);
        redisCalls = Timer.builder("sidegate.redis.call.duration").description("Rate-limit script calls to Redis")
                .serviceLevelObjectives(REDIS_BUCKETS).register(registry);
        redisErrors = Counter.builder("sidegate.redis.errors").description("Failed Redis calls").register(registry);
    }

    private static Duration[] durations(long... millis) {
        Duration[] d = new Duration[millis.length];
        for (int i = 0; i < millis.length; i++) {
            d[i] = Duration.ofMillis(millis[i]);
        }
        return d;
    }

    /** The Prometheus text of every meter. */
    public String scrape() {
        return registry.scrape();
    }

    private Counter counter(String name, String description, String... tags) {
        List<String> key = key(name, tags);
        return counters.computeIfAbsent(key, k -> Counter.builder(name).description(description).tags(tags).register(registry));
    }

    private Timer timer(String name, String description, String... tags) {
        List<String> key = key(name, tags);
        return timers.computeIfAbsent(key, k -> Timer.builder(name).description(description).tags(tags)
                .serviceLevelObjectives(BUCKETS).register(registry));
    }

    private static List<String> key(String name, String... tags) {
        String[] all = new String[tags.length + 1];
        all[0] = name;
        System.arraycopy(tags, 0, all, 1, tags.length);
        return List.of(all);
    }

    /** @param decision allowed, denied, fallback_allowed, fallback_denied or unavailable */
    public void rateLimitDecision(String decision) {
        byLabel(rateLimitDecisions, decision, d -> counter("sidegate.rate_limit.decisions", "Rate-limit decisions by outcome",
                                                           "decision", d)).increment();
    }

    private record LimitDecision(String limit, String decision) {
    }

    private final Map<LimitDecision, Counter> limitDecisions = new ConcurrentHashMap<>();

    /**
     * One limit's part in a decision: {@code allowed} (a token taken), {@code denied} (it was empty and enforced: the
     * 429) or {@code shadow_denied} (it was empty in shadow mode).
     *
     * @param limit the limit's name: its tier, or its route prefix (configuration, so a bounded set)
     */
    public void limitDecision(String limit, String decision) {
        LimitDecision key = new LimitDecision(limit, decision);
        Counter c = limitDecisions.get(key);
        if (c == null) {
            c = limitDecisions.computeIfAbsent(key, k -> counter("sidegate.rate_limit.limit_decisions",
                    "Rate-limit decisions per limit", "limit", k.limit(), "decision", k.decision()));
        }
        c.increment();
    }

    /** Counts by limit, then decision, for the admin page. */
    public Map<String, Map<String, Long>> limitDecisionCounts() {
        Map<String, Map<String, Long>> all = new java.util.TreeMap<>();
        limitDecisions.forEach((k, c) -> all.computeIfAbsent(k.limit(), x -> new java.util.TreeMap<>())
                .put(k.decision(), (long) c.count()));
        return all;
    }

    private static <T> T byLabel(Map<String, T> meters, String label, java.util.function.Function<String, T> create) {
        T meter = meters.get(label);
        return meter != null ? meter : meters.computeIfAbsent(label, create);
    }

    /** @param state closed, open, half-open or disabled */
    public void circuitTransition(String upstream, String state) {
        counter("sidegate.upstream.circuit_transitions", "Circuit breaker state transitions per upstream",
                "upstream", upstream, "to", state).increment();
    }

    /** 0 closed, 1 open, 2 half-open; the live breaker of an upstream is the one read. */
    public void circuitState(String upstream, IntSupplier state) {
        boolean first = circuitStates.put(upstream, state) == null;
        if (first) {
            Gauge.builder("sidegate.upstream.circuit_state", circuitStates, m -> m.getOrDefault(upstream, () -> 0).getAsInt())
                    .description("Circuit state per upstream: 0 closed, 1 open, 2 half-open")
                    .tags("upstream", upstream)
                    .register(registry);
        }
    }

    public void upstreamRetry(String upstream) {
        byLabel(upstreamRetries, upstream, u -> counter("sidegate.upstream.retries", "Retried upstream calls", "upstream", u))
                .increment();
    }

    /** One finished request; the route is its configured prefix ("unmatched" when none). */
    public void request(String route, String method, int status, long nanos) {
        String routeLabel = route == null ? "unmatched" : route;
        String methodLabel = methodLabel(method);
        RequestKey key = new RequestKey(routeLabel, methodLabel, statusClass(status));
        RequestMeters meters = requestMeters.get(key);
        if (meters == null) {
            meters = requestMeters.computeIfAbsent(key, k -> new RequestMeters(
                    counter("sidegate.requests", "Requests by route, method and status class",
                            "route", k.route(), "method", k.method(), "status_class", k.statusClass()),
                    timer("sidegate.request.duration", "Time from request arrival to the last response byte",
                          "route", k.route(), "method", k.method(), "status_class", k.statusClass())));
        }
        meters.count().increment();
        meters.duration().record(nanos, TimeUnit.NANOSECONDS);
    }

    private static String statusClass(int status) {
        return switch (status / 100) {
            case 1 -> "1xx";
            case 2 -> "2xx";
            case 3 -> "3xx";
            case 4 -> "4xx";
            default -> "5xx";
        };
    }

    /** Time from sending an upstream request to its response headers. */
    public void upstreamCall(String upstream, long nanos) {
        byLabel(upstreamCalls, upstream, u -> timer("sidegate.upstream.duration",
                                                    "Time to the upstream's response headers, per attempt", "upstream", u))
                .record(nanos, TimeUnit.NANOSECONDS);
    }

    /** @param reason missing_token, invalid_token, insufficient_scope or keys_unavailable */
    public void authFailure(String reason) {
        byLabel(authFailures, reason, r -> counter("sidegate.auth.failures", "Rejected authentications by reason", "reason", r))
                .increment();
    }

    /** A request admitted by {@code permission_mode: audit} that lacked its route's permission. */
    public void permissionAudited(String route) {
        byLabel(permissionAudits, route, r -> counter("sidegate.auth.audit_denied",
                "Requests admitted by permission_mode: audit that the route's permission would have denied", "route", r))
                .increment();
    }

    /** One Redis call of the rate limiter, and whether it failed. */
    public void redisCall(long nanos, boolean failed) {
        redisCalls.record(nanos, TimeUnit.NANOSECONDS);
        if (failed) {
            redisErrors.increment();
        }
    }

    /** @param result ok or rejected */
    public void configReload(String result) {
        counter("sidegate.config.reloads", "Configuration reloads by result", "result", result).increment();
    }

    /** A client connection refused right after accept; {@code reason} is total or per_ip (admin_ for the admin port). */
    public void connectionRefused(String reason) {
        counter("sidegate.connections.refused", "Client connections closed at accept: over the total or the per-IP cap",
                "reason", reason).increment();
    }

    /** Client connections open now. */
    public void openConnections(IntSupplier open) {
        Gauge.builder("sidegate.connections.open", open, IntSupplier::getAsInt)
                .description("Client connections open on the proxy port")
                .strongReference(true) // a gauge holds its supplier weakly: a method reference would be collected
                .register(registry);
    }

    /** Bytes of bodies that transforms hold now. */
    public void bufferedBodyBytes(LongSupplier held) {
        Gauge.builder("sidegate.buffered.body.bytes", held, LongSupplier::getAsLong)
                .description("Bytes of bodies that body transforms hold in memory (server.max_buffered_body_bytes bounds it)")
                .baseUnit("bytes")
                .strongReference(true)
                .register(registry);
    }

    public void openTunnels(IntSupplier open) {
        Gauge.builder("sidegate.tunnels.open", open, IntSupplier::getAsInt)
                .description("WebSocket tunnels open on the proxy port")
                .strongReference(true)
                .register(registry);
    }

    private static String methodLabel(String method) {
        return switch (method) {
            case "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS" -> method;
            default -> "other";
        };
    }

    /** The live deployment's Redis state: degraded while the failure policy decides. */
    public void redisDegraded(BooleanSupplier degraded) {
        redisDegraded.set(degraded);
    }

    @Override
    public void close() {
        registry.close();
    }
}
