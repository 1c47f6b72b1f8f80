package dev.sidegate.resilience;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import dev.sidegate.proxy.Exchange;
import dev.sidegate.proxy.Problem;
import dev.sidegate.proxy.ProxyRequest;
import dev.sidegate.proxy.ProxyResponse;
import dev.sidegate.proxy.ResponseBody;
import dev.sidegate.proxy.Stage;
import dev.sidegate.proxy.UpstreamAttempt;
import dev.sidegate.telemetry.SidegateMetrics;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;

/**
 * Just before one route's upstream call: the upstream's bulkhead (503 at once when full), its circuit breaker (503
 * while open; only the permitted probes pass when half-open), and the route's retries (Resilience4j Retry with
 * jittered exponential backoff; idempotent methods, nothing of the body sent, never past the route's total timeout).
 * The guard is the one resolved when the pipeline was built: a reload never changes it under a running request.
 */
public final class Resilience implements Stage {
    private static final double JITTER = 0.5;

    private final UpstreamGuards.Guard guard;
    private final RetrySettings retry;
    private final Retry retries;
    private final Duration totalTimeout;
    // The breaker's failure statuses as a table, made when the pipeline is built: the boxed Set lookup per response
    // was 1.6% of the plain path's Java samples.
    private final boolean[] failureStatus = new boolean[600];

    public Resilience(String routeId, UpstreamGuards.Guard guard, RetrySettings retry, Duration totalTimeout,
                      SidegateMetrics metrics) {
        this.guard = guard;
        this.retry = retry;
        this.totalTimeout = totalTimeout;
        for (int status : guard.settings().breaker().failureStatuses()) {
            failureStatus[status] = true;
        }
        this.retries = retry.attempts() == 0 ? null : Retry.of("route " + routeId, RetryConfig.<ProxyResponse>custom()
                .maxAttempts(retry.attempts() + 1)
                .intervalFunction(IntervalFunction.ofExponentialRandomBackoff(retry.backoff(), 2.0, JITTER))
                .retryOnResult(response -> true) // what may be retried is decided before the result is handed over
                .consumeResultBeforeRetryAttempt((attempt, response) -> response.body().close())
                .failAfterMaxAttempts(false)
                .build());
        if (retries != null) {
            String upstream = guard.settings().name();
            retries.getEventPublisher().onRetry(e -> metrics.upstreamRetry(upstream));
        }
    }

    @Override
    public String name() {
        return "resilience";
    }

    @Override
    public ProxyResponse apply(ProxyRequest request, Chain chain) {
        Exchange exchange = chain.exchange();
        exchange.annotate("circuit.state", UpstreamGuards.state(guard.breaker().getState()));
        if (!guard.bulkhead().tryAcquirePermission()) {
            return exchange.problem(Problem.of(503, "upstream-busy", "Upstream busy",
                                               "the upstream of route " + exchange.route().id() + " already has "
                                                       + guard.settings().maxConcurrent() + " requests in flight")
                                            .withHeader("Retry-After", "1"));
        }
        boolean handedOver = false;
        try {
            ProxyResponse response = attempts(request, chain);
            ProxyResponse guarded = response.withBody(releasing(response.body(), guard));
            handedOver = true;
            return guarded;
        } finally {
            if (!handedOver) {
                guard.bulkhead().onComplete();
            }
        }
    }

    private ProxyResponse attempts(ProxyRequest request, Chain chain) {
        Exchange exchange = chain.exchange();
        CircuitBreaker breaker = guard.breaker();
        Retry.Context<ProxyResponse> context = retries == null ? null : retries.context();
        long deadline = System.nanoTime() + totalTimeout.toNanos();
        int attempt = 0;
        while (true) {
            attempt++;
            if (!breaker.tryAcquirePermission()) {
                boolean open = breaker.getState() == CircuitBreaker.State.OPEN;
                return exchange.problem(Problem.of(503, "upstream-circuit-open", "Upstream circuit open",
                                                   open ? "the upstream of route " + exchange.route().id()
                                                           + " is failing; requests are not sent to it for now"
                                                        : "the upstream of route " + exchange.route().id()
                                                           + " is being probed after failures; try again shortly")
                                                .withHeader("Retry-After", Long.toString(open ? guard.secondsUntilProbe() : 1)));
            }
            // A retry gets what is left of the total timeout; the first attempt has the route's full timeout.
            Chain next = attempt == 1 ? chain
                    : chain.withResponseTimeout(Duration.ofNanos(Math.max(1_000_000, deadline - System.nanoTime())));
            long callStart = System.nanoTime();
            ProxyResponse response = next.proceed(request);
            UpstreamAttempt outcome = exchange.attempt().orElseThrow();
            boolean failed = record(breaker, outcome, System.nanoTime() - callStart);
            if (!failed || context == null || !retryable(request, outcome)) {
                return attempt > 1 && failed ? withAttempts(exchange, response, outcome, attempt) : response;
            }
            if (System.nanoTime() + longestBackoff(attempt) >= deadline || !context.onResult(response)) {
                return attempt > 1 ? withAttempts(exchange, response, outcome, attempt) : response;
            }
            exchange.annotate("retries", Integer.toString(attempt));
        }
    }

    /** The longest the retry after this attempt may wait: the backoff doubled per attempt, plus its jitter. */
    private long longestBackoff(int attempt) {
        return (long) (retry.backoff().toNanos() * Math.pow(2, attempt - 1) * (1 + JITTER));
    }

    /** Reports the attempt to the breaker; true when it failed. */
    private boolean record(CircuitBreaker breaker, UpstreamAttempt outcome, long elapsed) {
        switch (outcome) {
            case UpstreamAttempt.Responded r -> {
                if (r.status() >= 0 && r.status() < failureStatus.length && failureStatus[r.status()]) {
                    breaker.onError(elapsed, TimeUnit.NANOSECONDS, new UpstreamGuards.UpstreamFailure("status " + r.status()));
                    return true;
                }
                breaker.onSuccess(elapsed, TimeUnit.NANOSECONDS);
                return false;
            }
            case UpstreamAttempt.ClientFailed c -> {
                breaker.releasePermission(); // the client's fault says nothing about the upstream
                return false;
            }
            default -> {
                breaker.onError(elapsed, TimeUnit.NANOSECONDS, new UpstreamGuards.UpstreamFailure(outcome.getClass().getSimpleName()));
                return true;
            }
        }
    }

    private boolean retryable(ProxyRequest request, UpstreamAttempt outcome) {
        if (!RetrySettings.IDEMPOTENT.contains(request.method()) || outcome.bodySent()) {
            return false;
        }
        if (request.body().present() && !(outcome instanceof UpstreamAttempt.ConnectFailed)) {
            return false; // the body stream may have been read; only a refused connection guarantees it was not
        }
        return switch (outcome) {
            case UpstreamAttempt.ConnectFailed c -> retry.onConnectFailure();
            case UpstreamAttempt.Responded r -> retry.onStatuses().contains(r.status());
            default -> false;
        };
    }

    private static ProxyResponse withAttempts(Exchange exchange, ProxyResponse response, UpstreamAttempt outcome, int attempts) {
        Problem problem = switch (outcome) {
            case UpstreamAttempt.ConnectFailed c -> c.problem();
            case UpstreamAttempt.TimedOut t -> t.problem();
            case UpstreamAttempt.Failed f -> f.problem();
            default -> null;
        };
        if (problem == null) {
            return response;
        }
        response.body().close();
        return exchange.problem(problem.withDetail(problem.detail() + " (" + attempts + " attempts)"));
    }

    /** The bulkhead slot is held until the response body has been written or dropped, not just until headers. */
    private static ResponseBody releasing(ResponseBody body, UpstreamGuards.Guard guard) {
        java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
        return new ResponseBody(body.stream(), body.length(), () -> {
            try {
                body.close();
            } finally {
                if (released.compareAndSet(false, true)) {
                    guard.bulkhead().onComplete();
                }
            }
        });
    }
}
