package dev.sidegate.resilience;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import dev.sidegate.telemetry.SidegateMetrics;
import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;

/**
 * The circuit breaker and bulkhead of every upstream, from Resilience4j registries. Kept for the life of the
 * process: a configuration reload keeps an upstream's breaker state while its settings stay the same.
 */
public final class UpstreamGuards {
    private static final System.Logger LOG = System.getLogger(UpstreamGuards.class.getName());

    private final CircuitBreakerRegistry breakers = CircuitBreakerRegistry.ofDefaults();
    private final Map<String, Guard> guards = new ConcurrentHashMap<>();
    private final SidegateMetrics metrics;

    public UpstreamGuards(SidegateMetrics metrics) {
        this.metrics = metrics;
    }

    /** One upstream's protections. */
    public static final class Guard {
        private final UpstreamSettings settings;
        private final CircuitBreaker breaker;
        private final Bulkhead bulkhead;
        private volatile Instant openedAt = Instant.EPOCH;

        private Guard(UpstreamSettings settings, CircuitBreaker breaker, Bulkhead bulkhead) {
            this.settings = settings;
            this.breaker = breaker;
            this.bulkhead = bulkhead;
        }

        public UpstreamSettings settings() {
            return settings;
        }

        public CircuitBreaker breaker() {
            return breaker;
        }

        public Bulkhead bulkhead() {
            return bulkhead;
        }

        /** Whole seconds until the open circuit lets probes through (at least 1). */
        public long secondsUntilProbe() {
            Duration left = settings.breaker().waitInOpen().minus(Duration.between(openedAt, Instant.now()));
            return Math.max(1, (left.toMillis() + 999) / 1000);
        }
    }

    /** The guard for an upstream; created on first use, replaced only when its settings change. */
    public Guard guard(UpstreamSettings settings) {
        return guards.compute(settings.name(), (name, existing) ->
                existing != null && existing.settings().equals(settings) ? existing : create(settings, existing));
    }

    private Guard create(UpstreamSettings settings, Guard replaced) {
        String name = settings.name();
        if (replaced != null) {
            breakers.remove(name);
        }
        BreakerSettings b = settings.breaker();
        CircuitBreaker breaker = breakers.circuitBreaker(name, CircuitBreakerConfig.custom()
                .slidingWindowType(b.timeWindow() ? CircuitBreakerConfig.SlidingWindowType.TIME_BASED
                                           : CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(b.windowSize())
                .minimumNumberOfCalls(b.minimumCalls())
                .failureRateThreshold(b.failureRate())
                .slowCallDurationThreshold(b.slowCallDuration())
                .slowCallRateThreshold(b.slowCallRate())
                .waitDurationInOpenState(b.waitInOpen())
                .permittedNumberOfCallsInHalfOpenState(b.halfOpenCalls())
                // Half-open as soon as the wait is over, so the admin view and metric show the probing state.
                .automaticTransitionFromOpenToHalfOpenEnabled(true)
                .recordExceptions(UpstreamFailure.class)
                .build());
        Bulkhead bulkhead = Bulkhead.of(name, BulkheadConfig.custom()
                .maxConcurrentCalls(settings.maxConcurrent())
                .maxWaitDuration(Duration.ZERO)
                .build());
        Guard guard = new Guard(settings, breaker, bulkhead);
        breaker.getEventPublisher().onStateTransition(e -> {
            CircuitBreaker.State to = e.getStateTransition().getToState();
            if (to == CircuitBreaker.State.OPEN) {
                guard.openedAt = Instant.now();
            }
            LOG.log(to == CircuitBreaker.State.CLOSED ? System.Logger.Level.INFO : System.Logger.Level.WARNING,
                    "upstream " + name + " circuit " + state(e.getStateTransition().getFromState()) + " -> " + state(to)
                            + (to == CircuitBreaker.State.OPEN ? " (failure rate " + rate(breaker.getMetrics().getFailureRate())
                            + ", slow-call rate " + rate(breaker.getMetrics().getSlowCallRate()) + "); requests get 503 for "
                            + dev.sidegate.config.Durations.format(b.waitInOpen()) : ""));
            metrics.circuitTransition(name, state(to));
        });
        metrics.circuitState(name, () -> switch (breaker.getState()) {
            case CLOSED, DISABLED, METRICS_ONLY -> 0;
            case OPEN, FORCED_OPEN -> 1;
            case HALF_OPEN -> 2;
        });
        if (!b.enabled()) {
            breaker.transitionToDisabledState();
        }
        return guard;
    }

    /** The state of every upstream, for {@code GET /admin/upstreams}. */
    public Map<String, Object> describe() {
        Map<String, Object> all = new LinkedHashMap<>();
        guards.values().stream().sorted(java.util.Comparator.comparing(g -> g.settings().name())).forEach(g -> {
            Map<String, Object> m = new LinkedHashMap<>();
            CircuitBreaker.Metrics cm = g.breaker().getMetrics();
            m.put("url", g.settings().url().toString());
            m.put("circuit", state(g.breaker().getState()));
            m.put("failure_rate", cm.getFailureRate() < 0 ? null : cm.getFailureRate());
            m.put("slow_call_rate", cm.getSlowCallRate() < 0 ? null : cm.getSlowCallRate());
            m.put("calls_in_window", cm.getNumberOfBufferedCalls());
            m.put("rejected_while_open", cm.getNumberOfNotPermittedCalls());
            m.put("in_flight", g.settings().maxConcurrent() - g.bulkhead().getMetrics().getAvailableConcurrentCalls());
            m.put("max_concurrent", g.settings().maxConcurrent());
            all.put(g.settings().name(), m);
        });
        return all;
    }

    static String state(CircuitBreaker.State state) {
        return state.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    private static String rate(float percent) {
        return percent < 0 ? "n/a" : Math.round(percent) + "%";
    }

    /** Marks an upstream call as failed for the breaker: no connection, timeout, broken, or a failure status. */
    static final class UpstreamFailure extends RuntimeException {
        UpstreamFailure(String what) {
            super(what, null, false, false);
        }
    }
}
