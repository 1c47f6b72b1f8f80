package dev.sidegate.ratelimit;

import java.time.Duration;

/**
 * A token bucket's shape: {@code requests} tokens of capacity, refilled continuously at {@code requests / window}.
 *
 * @param requests capacity, and tokens added per window
 * @param window   refill period, whole seconds
 */
public record Limit(long requests, Duration window) {

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
