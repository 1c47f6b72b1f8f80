package dev.sidegate.ratelimit;

import java.time.Duration;

/**
 * A token bucket's shape: {@code requests} tokens of capacity, refilled continuously at {@code requests / window}.
 *
 * @param requests capacity, and tokens added per window
 * @param window   refill period, whole seconds
 * @param enforce  false: shadow mode. The bucket is kept exactly as when enforced, but a request it alone would deny
 *                 is admitted and counted as {@code shadow_denied}
 */
public record Limit(long requests, Duration window, boolean enforce) {

    /** An enforced limit. */
    public Limit(long requests, Duration window) {
        this(requests, window, true);
    }

    /** Tokens per microsecond (fractional; the bucket keeps fractions). */
    public double ratePerMicro() {
        return (double) requests / (window.toNanos() / 1000.0);
    }

    public long windowSeconds() {
        return window.toSeconds();
    }

    /** Microseconds until an empty bucket is full again; idle state is useless after that. */
    long refillMicros() {
        return window.toNanos() / 1000;
    }
}
