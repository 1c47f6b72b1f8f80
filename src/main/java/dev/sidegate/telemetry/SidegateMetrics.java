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
    private final MeterRegistry registry;
    private final Map<String, Counter> rateLimitDecisions = new ConcurrentHashMap<>();
    private final AtomicReference<BooleanSupplier> redisDegraded = new AtomicReference<>(() -> false);
    private final Map<String, java.util.function.IntSupplier> circuitStates = new ConcurrentHashMap<>();

    public SidegateMetrics(MeterRegistry registry) {
        this.registry = registry;
        registry.getOrCreate(Gauge.builder("sidegate.rate_limit.redis_degraded", redisDegraded,
                                           r -> r.get().getAsBoolean() ? 1 : 0)
                                     .description("1 while rate limits come from the Redis failure policy instead of Redis"));
    }

    /** @param decision allowed, denied, fallback_allowed, fallback_denied or unavailable */
    public void rateLimitDecision(String decision) {
        rateLimitDecisions.computeIfAbsent(decision, d -> registry.getOrCreate(
                Counter.builder("sidegate.rate_limit.decisions")
                        .description("Rate-limit decisions by outcome")
                        .tags(java.util.List.of(Tag.create("decision", d))))).increment();
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

    /** The current pipeline's Redis state, read by the degraded gauge. */
    public void redisDegraded(BooleanSupplier degraded) {
        redisDegraded.set(degraded);
    }
}
