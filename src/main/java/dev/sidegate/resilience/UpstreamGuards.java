package dev.sidegate.resilience;

import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

import dev.sidegate.telemetry.SidegateMetrics;
import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.bulkhead.BulkheadRegistry;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;

/**
 * The circuit breaker and bulkhead of every upstream, kept for the life of the process in Resilience4j registries
 * (which the admin view and the metrics read). Building a pipeline only {@link #prepare prepares} guards: the live
 * guard of an upstream whose protection settings did not change, or a new one that nothing sees yet. Only
 * {@link #commit}, when that pipeline is swapped in, registers the new ones, so a rejected reload changes nothing
 * live, and requests still running on the old pipeline keep the guards they started with.
 */
public final class UpstreamGuards {
    private static final System.Logger LOG = System.getLogger(UpstreamGuards.class.getName());

    private final CircuitBreakerRegistry breakers;
    private final BulkheadRegistry bulkheads = BulkheadRegistry.ofDefaults();
    private final Map<String, Guard> live = new ConcurrentHashMap<>();
    private final SidegateMetrics metrics;

    /** @param breakers shared with the rate limiter, whose Redis breaker joins it */
    public UpstreamGuards(CircuitBreakerRegistry breakers, SidegateMetrics metrics) {
        this.breakers = breakers;
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

        /** Whether this guard protects an upstream with these settings the same way (its URL and pool aside). */
        boolean protects(UpstreamSettings other) {
            return settings.breaker().equals(other.breaker()) && settings.maxConcurrent() == other.maxConcurrent();
        }

        /** Whole seconds until the open circuit lets probes through (at least 1). */
        public long secondsUntilProbe() {
            Duration left = settings.breaker().waitInOpen().minus(Duration.between(openedAt, Instant.now()));
            return Math.max(1, (left.toMillis() + 999) / 1000);
        }
    }

    /** The live guard for this upstream when its protection is unchanged; otherwise a new, unregistered one. */
    public Guard prepare(UpstreamSettings settings) {
        Guard existing = live.get(settings.name());
        return existing != null && existing.protects(settings) ? existing : create(settings);
    }

    /** Makes these guards the live ones (the pipeline that uses them was swapped in); others are forgotten. */
    public synchronized void commit(Collection<Guard> guards) {
        Set<String> names = guards.stream().map(g -> g.settings().name()).collect(Collectors.toSet());
        for (Guard guard : guards) {
            String name = guard.settings().name();
            Guard old = live.put(name, guard);
            if (old != guard) {
                // The registries create entries themselves; replacing makes them hold the prepared instances.
                breakers.circuitBreaker(name, guard.breaker().getCircuitBreakerConfig());
                breakers.replace(name, guard.breaker());
                bulkheads.bulkhead(name, guard.bulkhead().getBulkheadConfig());
                bulkheads.replace(name, guard.bulkhead());
                metrics.circuitState(name, () -> switch (guard.breaker().getState()) {
                    case CLOSED, DISABLED, METRICS_ONLY -> 0;
                    case OPEN, FORCED_OPEN -> 1;
                    case HALF_OPEN -> 2;
                });
            }
        }
        live.keySet().removeIf(name -> {
            if (names.contains(name)) {
                return false;
            }
            breakers.remove(name);
            bulkheads.remove(name);
            return true;
        });
    }

    private Guard create(UpstreamSettings settings) {
        String name = settings.name();
        BreakerSettings b = settings.breaker();
        CircuitBreaker breaker = CircuitBreaker.of(name, CircuitBreakerConfig.custom()
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
        if (!b.enabled()) {
            breaker.transitionToDisabledState();
        }
        return guard;
    }

    /** The state of every live upstream guard, from the registries, for {@code GET /admin/upstreams}. */
    public Map<String, Object> describe() {
        Map<String, Object> all = new LinkedHashMap<>();
        live.values().stream().sorted(java.util.Comparator.comparing(g -> g.settings().name())).forEach(g -> {
            String name = g.settings().name();
            CircuitBreaker breaker = breakers.find(name).orElse(g.breaker());
            Bulkhead bulkhead = bulkheads.find(name).orElse(g.bulkhead());
            Map<String, Object> m = new LinkedHashMap<>();
            CircuitBreaker.Metrics cm = breaker.getMetrics();
            m.put("url", g.settings().url().toString());
            m.put("circuit", state(breaker.getState()));
            m.put("failure_rate", cm.getFailureRate() < 0 ? null : cm.getFailureRate());
            m.put("slow_call_rate", cm.getSlowCallRate() < 0 ? null : cm.getSlowCallRate());
            m.put("calls_in_window", cm.getNumberOfBufferedCalls());
            m.put("rejected_while_open", cm.getNumberOfNotPermittedCalls());
            m.put("in_flight", bulkhead.getBulkheadConfig().getMaxConcurrentCalls()
                    - bulkhead.getMetrics().getAvailableConcurrentCalls());
            m.put("max_concurrent", bulkhead.getBulkheadConfig().getMaxConcurrentCalls());
            all.put(name, m);
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
