package dev.sidegate.ratelimit;

/** What rate limiting does while Redis cannot answer ({@code SIDEGATE_RATE_LIMIT_ON_REDIS_FAILURE}). */
public enum FailureMode {
    /** In-process buckets, each capacity divided by {@code rate_limiting.local_share}. */
    LOCAL,
    /** Let every request through, uncounted. */
    ALLOW,
    /** Refuse every limited request with 503. */
    DENY
}
