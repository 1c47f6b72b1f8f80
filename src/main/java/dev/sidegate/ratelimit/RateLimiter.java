package dev.sidegate.ratelimit;

import java.util.List;

/**
 * Takes one token from every bucket of a request, all or nothing. The Redis-backed and in-process limiters are
 * siblings behind this interface; the failure policy composes them ({@link FailoverRateLimiter}).
 */
public interface RateLimiter extends dev.sidegate.proxy.Resources.Part {

    /** The buckets all share one client key. */
    Decision acquire(List<Bucket> buckets);

    @Override
    default void close() {
    }

    /** The outcome for one request. */
    sealed interface Decision permits Allowed, Denied, Unavailable {
    }

    /**
     * Every bucket had a token; one was taken from each.
     *
     * @param buckets  the buckets after this request (empty when the failure policy allows without counting)
     * @param fallback whether the failure policy decided instead of the shared limiter
     */
    record Allowed(List<BucketState> buckets, boolean fallback) implements Decision {
        public Allowed(List<BucketState> buckets) {
            this(buckets, false);
        }
    }

    /**
     * At least one bucket was empty; no token was taken from any.
     *
     * @param buckets  the buckets as they are
     * @param fallback whether the failure policy decided instead of the shared limiter
     */
    record Denied(List<BucketState> buckets, boolean fallback) implements Decision {
        public Denied(List<BucketState> buckets) {
            this(buckets, false);
        }

        /** Microseconds until every bucket has a token again. */
        public long waitMicros() {
            long wait = 0;
            for (BucketState b : buckets) {
                wait = Math.max(wait, b.waitMicros());
            }
            return wait;
        }
    }

    /** The limiter could not decide (Redis down, slow, or its breaker open). */
    record Unavailable(String reason) implements Decision {
    }

    /**
     * @param bucket     the bucket
     * @param remaining  whole tokens left after this request
     * @param waitMicros microseconds until the bucket holds a whole token (0 when it does)
     */
    record BucketState(Bucket bucket, long remaining, long waitMicros) {
    }
}
