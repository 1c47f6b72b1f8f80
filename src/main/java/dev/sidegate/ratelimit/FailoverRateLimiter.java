package dev.sidegate.ratelimit;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;

/**
 * The failure policy around the shared limiter: a circuit breaker (Resilience4j) in front of Redis, so that an
 * outage costs a few timed-out calls rather than one per request, and the configured behaviour while Redis cannot
 * answer: {@code local} buckets, {@code allow} or {@code deny}. When the breaker's probes succeed again, requests go
 * back to the shared buckets by themselves.
 */
final class FailoverRateLimiter implements RateLimiter {
    private static final System.Logger LOG = System.getLogger(FailoverRateLimiter.class.getName());
    /** The Redis breaker's name in the shared breaker registry. */
    static final String BREAKER_NAME = "rate-limits:redis"; // no upstream name can look like this

    private final RateLimiter shared;
    private final FailureMode mode;
    private final LocalRateLimiter local;
    private final CircuitBreaker breaker;
    private volatile String lastFailure = "";

    private final io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry registry;

    /**
     * @param registry where the Redis breaker is registered once started, beside the upstreams' breakers, so that the
     *                 admin view and metrics see it
     */
    FailoverRateLimiter(RateLimiter shared, FailureMode mode, long localShare, Duration timeout,
                        io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry registry,
                        java.util.concurrent.ScheduledExecutorService timers) {
        this.shared = shared;
        this.mode = mode;
        this.registry = registry;
        this.local = new LocalRateLimiter(localShare, timers);
        this.breaker = CircuitBreaker.of(BREAKER_NAME, CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(20)
                .minimumNumberOfCalls(5)
                .failureRateThreshold(50)
                .slowCallDurationThreshold(timeout)
                .slowCallRateThreshold(50)
                .waitDurationInOpenState(Duration.ofSeconds(2))
                .permittedNumberOfCallsInHalfOpenState(3)
                .automaticTransitionFromOpenToHalfOpenEnabled(false)
                .recordExceptions(SharedLimiterFailure.class)
                .build());
        breaker.getEventPublisher().onStateTransition(e -> LOG.log(
                e.getStateTransition().getToState() == CircuitBreaker.State.CLOSED
                        ? System.Logger.Level.INFO : System.Logger.Level.WARNING,
                "rate limiter Redis circuit " + e.getStateTransition().getFromState() + " -> "
                        + e.getStateTransition().getToState()
                        + (e.getStateTransition().getToState() == CircuitBreaker.State.CLOSED ? ": shared limits again"
                           : ": " + describeMode() + (lastFailure.isEmpty() ? "" : " (" + lastFailure + ")"))));
    }

    @Override
    public Decision acquire(List<Bucket> buckets) {
        if (!breaker.tryAcquirePermission()) {
            return degraded(buckets);
        }
        long start = System.nanoTime();
        Decision decision = shared.acquire(buckets);
        long elapsed = System.nanoTime() - start;
        if (decision instanceof Unavailable unavailable) {
            lastFailure = unavailable.reason();
            breaker.onError(elapsed, TimeUnit.NANOSECONDS, new SharedLimiterFailure());
            return degraded(buckets);
        }
        breaker.onSuccess(elapsed, TimeUnit.NANOSECONDS);
        return decision;
    }

    private Decision degraded(List<Bucket> buckets) {
        return switch (mode) {
            case LOCAL -> switch (local.acquire(buckets)) {
                case Allowed a -> new Allowed(a.buckets(), true);
                case Denied d -> new Denied(d.buckets(), true);
                case Unavailable u -> u;
            };
            case ALLOW -> new Allowed(List.of(), true);
            case DENY -> new Unavailable("shared rate limits are unavailable");
        };
    }

    /** Whether decisions currently come from the failure policy instead of Redis. */
    boolean degraded() {
        return breaker.getState() != CircuitBreaker.State.CLOSED;
    }

    String state() {
        if (!degraded()) {
            return "redis ok";
        }
        return "redis degraded (circuit " + breaker.getState().name().toLowerCase(java.util.Locale.ROOT) + ", "
                + describeMode() + ")" + (lastFailure.isEmpty() ? "" : ": " + lastFailure);
    }

    private String describeMode() {
        return switch (mode) {
            case LOCAL -> "local buckets";
            case ALLOW -> "allowing all";
            case DENY -> "denying all";
        };
    }

    @Override
    public void start() {
        local.start();
        registry.circuitBreaker(BREAKER_NAME, breaker.getCircuitBreakerConfig());
        registry.replace(BREAKER_NAME, breaker);
    }

    @Override
    public void close() {
        local.close();
        registry.find(BREAKER_NAME).filter(b -> b == breaker).ifPresent(b -> registry.remove(BREAKER_NAME));
    }

    /** Marks a decision the shared limiter could not make, for the breaker's statistics. */
    static final class SharedLimiterFailure extends RuntimeException {
        SharedLimiterFailure() {
            super("shared limiter unavailable", null, false, false);
        }
    }
}
