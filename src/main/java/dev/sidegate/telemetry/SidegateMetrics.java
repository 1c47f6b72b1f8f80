package dev.sidegate.telemetry;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import io.helidon.metrics.api.Counter;
import io.helidon.metrics.api.Gauge;
import io.helidon.metrics.api.MeterRegistry;
import io.helidon.metrics.api.Tag;

/**
 * Sidegate's own meters, registered once per process in Helidon's registry (exported on the admin port at
 * {@code /observe/metrics}). Label values come from small fixed sets: never user ids, raw paths or tokens.
 * Outlives configuration reloads: stages of the current pipeline report into it.
 */
public final class SidegateMetrics {
    private static final java.time.Duration[] BUCKETS = durations(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000);
    private static final java.time.Duration[] REDIS_BUCKETS = durations(1, 2, 5, 10, 25, 50, 100);
    private final MeterRegistry registry;
    private final Map<String, Counter> rateLimitDecisions = new ConcurrentHashMap<>();
    // Meters on the request path, by name and tag values: building a meter id per request cost ~10% of a proxied
    // request's CPU (measured with JFR in loadtest/). Tag values come from fixed sets and configuration only.
    private final Map<java.util.List<String>, Counter> counters = new ConcurrentHashMap<>();
    private final Map<java.util.List<String>, io.helidon.metrics.api.Timer> timers = new ConcurrentHashMap<>();
    private final AtomicReference<BooleanSupplier> redisDegraded = new AtomicReference<>(() -> false);
    private final Map<String, java.util.function.IntSupplier> circuitStates = new ConcurrentHashMap<>();

    public SidegateMetrics(MeterRegistry registry) {
        this.registry = registry;
        registry.getOrCreate(Gauge.builder("sidegate.rate_limit.redis_degraded", redisDegraded,
                                           r -> r.get().getAsBoolean() ? 1 : 0)
                                     .description("1 while rate limits come from the Redis failure policy instead of Redis"));
    }

    private static java.time.Duration[] durations(long... millis) {
        java.time.Duration[] d = new java.time.Duration[millis.length];
        for (int i = 0; i < millis.length; i++) {
            d[i] = java.time.Duration.ofMillis(millis[i]);
        }
        return d;
    }

    /** @param decision allowed, denied, fallback_allowed, fallback_denied or unavailable */
    public void rateLimitDecision(String decision) {
        rateLimitDecisions.computeIfAbsent(decision, d -> registry.getOrCreate(
                Counter.builder("sidegate.rate_limit.decisions")
                        .description("Rate-limit decisions by outcome")
                        .tags(java.util.List.of(Tag.create("decision", d))))).increment();
    }

    /** A client connection refused right after accept; {@code reason} is total or per_ip. */
    public void connectionRefused(String reason) {
        counters.computeIfAbsent(java.util.List.of("refused", reason), k -> registry.getOrCreate(
                Counter.builder("sidegate.connections.refused")
                        .description("Client connections closed at accept: over the total or the per-IP cap")
                        .tags(java.util.List.of(Tag.create("reason", reason))))).increment();
    }

    /** Client connections open now. */
    public void openConnections(java.util.function.IntSupplier open) {
        registry.getOrCreate(Gauge.builder("sidegate.connections.open", open, s -> s.getAsInt())
                                     .description("Client connections open on the proxy port"));
    }

    /** @param state closed, open, half-open or disabled */
    public void circuitTransition(String upstream, String state) {
        registry.getOrCreate(Counter.builder("sidegate.upstream.circuit_transitions")
                                     .description("Circuit breaker state transitions per upstream")
                                     .tags(java.util.List.of(Tag.create("upstream", upstream), Tag.create("to", state))))
                .increment();
    }

    /** 0 closed, 1 open, 2 half-open; the latest breaker of an upstream is the one read. */
    public void circuitState(String upstream, java.util.function.IntSupplier state) {
        circuitStates.put(upstream, state);
        registry.getOrCreate(Gauge.builder("sidegate.upstream.circuit_state", circuitStates,
                                           m -> m.getOrDefault(upstream, () -> 0).getAsInt())
                                     .description("Circuit state per upstream: 0 closed, 1 open, 2 half-open")
                                     .tags(java.util.List.of(Tag.create("upstream", upstream))));
    }

    public void upstreamRetry(String upstream) {
        registry.getOrCreate(Counter.builder("sidegate.upstream.retries")
                                     .description("Retried upstream calls")
                                     .tags(java.util.List.of(Tag.create("upstream", upstream))))
                .increment();
    }

    /** One finished request; the route is its configured prefix ("unmatched" when none). */
    public void request(String route, String method, int status, long nanos) {
        String routeLabel = route == null ? "unmatched" : route;
        String methodLabel = methodLabel(method);
        String statusClass = statusClass(status);
        java.util.List<String> key = java.util.List.of(routeLabel, methodLabel, statusClass);
        counters.computeIfAbsent(key, k -> registry.getOrCreate(
                Counter.builder("sidegate.requests").description("Requests by route, method and status class")
                        .tags(requestTags(k)))).increment();
        timers.computeIfAbsent(key, k -> registry.getOrCreate(
                io.helidon.metrics.api.Timer.builder("sidegate.request.duration")
                        .description("Time from request arrival to the last response byte")
                        .buckets(BUCKETS)
                        .tags(requestTags(k))))
                .record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    private static java.util.List<Tag> requestTags(java.util.List<String> values) {
        return java.util.List.of(Tag.create("route", values.get(0)), Tag.create("method", values.get(1)),
                                 Tag.create("status_class", values.get(2)));
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
        timers.computeIfAbsent(java.util.List.of("upstream", upstream), k -> registry.getOrCreate(
                io.helidon.metrics.api.Timer.builder("sidegate.upstream.duration")
                        .description("Time to the upstream's response headers, per attempt")
                        .buckets(BUCKETS)
                        .tags(java.util.List.of(Tag.create("upstream", upstream)))))
                .record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    /** @param reason missing_token, invalid_token, insufficient_scope or keys_unavailable */
    public void authFailure(String reason) {
        registry.getOrCreate(Counter.builder("sidegate.auth.failures").description("Rejected authentications by reason")
                                     .tags(java.util.List.of(Tag.create("reason", reason)))).increment();
    }

    /** One Redis call of the rate limiter, and whether it failed. */
    public void redisCall(long nanos, boolean failed) {
        registry.getOrCreate(io.helidon.metrics.api.Timer.builder("sidegate.redis.call.duration")
                                     .description("Rate-limit script calls to Redis")
                                     .buckets(REDIS_BUCKETS))
                .record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
        if (failed) {
            registry.getOrCreate(Counter.builder("sidegate.redis.errors").description("Failed Redis calls")).increment();
        }
    }

    /** @param result ok or rejected */
    public void configReload(String result) {
        registry.getOrCreate(Counter.builder("sidegate.config.reloads").description("Configuration reloads by result")
                                     .tags(java.util.List.of(Tag.create("result", result)))).increment();
    }

    private static String methodLabel(String method) {
        return switch (method) {
            case "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS" -> method;
            default -> "other";
        };
    }

    /** The current pipeline's Redis state, read by the degraded gauge. */
    public void redisDegraded(BooleanSupplier degraded) {
        redisDegraded.set(degraded);
    }
}
