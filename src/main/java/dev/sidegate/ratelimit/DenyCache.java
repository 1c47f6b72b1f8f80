package dev.sidegate.ratelimit;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import io.helidon.common.configurable.LruCache;

/**
 * Remembers denials until the client's next token is due and answers them without asking Redis, so an abusive
 * client costs Redis almost nothing. Exact: tokens only appear by refill, and the refill time of every empty bucket
 * was computed by the limiter that denied, so no request is denied here that the limiter would have allowed.
 * Bounded: least recently denied clients go first (Helidon's LRU cache; nothing is scanned on the request path).
 */
final class DenyCache implements RateLimiter {
    private static final int MAX_ENTRIES = 100_000;

    private final RateLimiter limiter;
    /** Keyed by the request's buckets (client, policy, scope and limit of each): a reload's new shapes miss. */
    private final LruCache<List<Bucket>, Entry> denied = LruCache.<List<Bucket>, Entry>builder().capacity(MAX_ENTRIES).build();
    /**
     * When the last cached denial runs out (System.nanoTime()): after it every entry has, so requests skip the
     * cache's lock while nobody is being denied, the usual case.
     */
    private final AtomicLong lastUntilNanos = new AtomicLong(System.nanoTime());

    private record Entry(Denied decision, long untilNanos) {
    }

    DenyCache(RateLimiter limiter) {
        this.limiter = limiter;
    }

    @Override
    public Decision acquire(List<Bucket> buckets) {
        long now = System.nanoTime();
        if (now - lastUntilNanos.get() < 0) {
            Entry entry = denied.get(buckets).orElse(null);
            if (entry != null) {
                if (now - entry.untilNanos() < 0) {
                    return remaining(entry, now);
                }
                denied.remove(buckets);
            }
        }
        Decision decision = limiter.acquire(buckets);
        // Only the shared limiter's denials are cached: a fallback denial says nothing about the shared buckets,
        // which may have tokens again the moment Redis is back.
        if (decision instanceof Denied d && !d.fallback() && d.waitMicros() > 0) {
            long until = now + d.waitMicros() * 1000;
            denied.put(List.copyOf(buckets), new Entry(d, until));
            lastUntilNanos.accumulateAndGet(until, (a, b) -> b - a > 0 ? b : a);
        }
        return decision;
    }

    private static Denied remaining(Entry entry, long now) {
        List<BucketState> states = new ArrayList<>(entry.decision().buckets().size());
        long elapsedMicros = (now - (entry.untilNanos() - entry.decision().waitMicros() * 1000)) / 1000;
        for (BucketState b : entry.decision().buckets()) {
            states.add(new BucketState(b.bucket(), b.remaining(), Math.max(0, b.waitMicros() - elapsedMicros)));
        }
        return new Denied(states, entry.decision().fallback());
    }
}
