package dev.sidegate.resilience;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import dev.sidegate.config.RouteSettings;
import dev.sidegate.config.SidegateConfig;
import dev.sidegate.proxy.AttemptBudget;
import dev.sidegate.proxy.Exchange;
import dev.sidegate.proxy.Problem;
import dev.sidegate.proxy.ProxyRequest;
import dev.sidegate.proxy.ProxyResponse;
import dev.sidegate.proxy.ResponseBody;
import dev.sidegate.proxy.Stage;
import dev.sidegate.proxy.UpstreamAttempt;
import dev.sidegate.telemetry.SidegateMetrics;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;

/**
 * Just before the upstream call: the upstream's bulkhead (503 at once when full), its circuit breaker (503 while
 * open; only the permitted probes pass when half-open), and retries (idempotent methods, nothing of the body sent,
 * jittered backoff, never past the route's total timeout).
 */
public final class Resilience implements Stage {
    private final SidegateConfig config;
    private final UpstreamGuards guards;
    private final SidegateMetrics metrics;

    public Resilience(SidegateConfig config, UpstreamGuards guards, SidegateMetrics metrics) {
        this.config = config;
        this.guards = guards;
        this.metrics = metrics;
        config.upstreams().values().forEach(guards::guard);
    }

    @Override
    public String name() {
        return "resilience";
    }

    @Override
    public ProxyResponse apply(ProxyRequest request, Chain chain) {
        Exchange exchange = chain.exchange();
        RouteSettings route = exchange.route().settings();
        UpstreamGuards.Guard guard = guards.guard(config.upstreams().get(route.upstreamName()));
        exchange.annotate("circuit.state", UpstreamGuards.state(guard.breaker().getState()));
        if (!guard.bulkhead().tryAcquirePermission()) {
            return exchange.problem(Problem.of(503, "upstream-busy", "Upstream busy",
                                               "the upstream of route " + exchange.route().id() + " already has "
                                                       + guard.settings().maxConcurrent() + " requests in flight")
                                            .withHeader("Retry-After", "1"));
        }
        boolean handedOver = false;
        try {
            ProxyResponse response = attempts(request, chain, route, guard);
            ProxyResponse guarded = response.withBody(releasing(response.body(), guard));
            handedOver = true;
            return guarded;
        } finally {
            if (!handedOver) {
                guard.bulkhead().onComplete();
            }
        }
    }

    private ProxyResponse attempts(ProxyRequest request, Chain chain, RouteSettings route, UpstreamGuards.Guard guard) {
        Exchange exchange = chain.exchange();
        CircuitBreaker breaker = guard.breaker();
        RetrySettings retry = route.retry();
        long start = System.nanoTime();
        long deadline = start + route.totalTimeout().toNanos();
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
            if (attempt > 1) {
                // A retry gets what is left of the total timeout; the first attempt has the route's full timeout.
                Duration remaining = Duration.ofNanos(Math.max(1_000_000, deadline - System.nanoTime()));
                exchange.note(AttemptBudget.class, new AttemptBudget(remaining));
            }
            long callStart = System.nanoTime();
            ProxyResponse response = chain.proceed(request);
            long elapsed = System.nanoTime() - callStart;
            UpstreamAttempt outcome = exchange.note(UpstreamAttempt.class).orElseThrow();
            boolean failed = record(breaker, guard.settings(), outcome, elapsed);
            if (!failed || !retryable(request, retry, outcome, attempt)) {
                return attempt > 1 && failed ? withAttempts(exchange, response, outcome, attempt) : response;
            }
            long backoff = jitteredBackoff(retry.backoff(), attempt);
            if (System.nanoTime() + backoff >= deadline) {
                return attempt > 1 ? withAttempts(exchange, response, outcome, attempt) : response;
            }
            response.body().close();
            metrics.upstreamRetry(guard.settings().name());
            exchange.annotate("retries", Integer.toString(attempt));
            LockSupport.parkNanos(backoff); // a virtual thread waiting out the backoff
        }
    }

    /** Reports the attempt to the breaker; true when it failed. */
    private static boolean record(CircuitBreaker breaker, UpstreamSettings upstream, UpstreamAttempt outcome, long elapsed) {
        switch (outcome) {
            case UpstreamAttempt.Responded r -> {
                if (upstream.breaker().failureStatuses().contains(r.status())) {
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

    private static boolean retryable(ProxyRequest request, RetrySettings retry, UpstreamAttempt outcome, int attempt) {
        if (attempt > retry.attempts() || !RetrySettings.IDEMPOTENT.contains(request.method()) || outcome.bodySent()) {
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

    private static long jitteredBackoff(Duration base, int attempt) {
        long max = base.toNanos() << Math.min(attempt - 1, 10);
        return max <= 0 ? 0 : ThreadLocalRandom.current().nextLong(max / 2, max + 1);
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
