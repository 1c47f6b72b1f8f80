package dev.sidegate.ratelimit;

import java.util.ArrayList;
import java.util.List;

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
    private final LruCache<String, Entry> denied = LruCache.<String, Entry>builder().capacity(MAX_ENTRIES).build();

    private record Entry(Denied decision, long untilNanos) {
    }

    DenyCache(RateLimiter limiter) {
        this.limiter = limiter;
    }

    @Override
    public Decision acquire(List<Bucket> buckets) {
        String key = key(buckets);
        long now = System.nanoTime();
        Entry entry = denied.get(key).orElse(null);
        if (entry != null) {
            if (now - entry.untilNanos() < 0) {
                return remaining(entry, now);
            }
            denied.remove(key);
        }
        Decision decision = limiter.acquire(buckets);
        // Only the shared limiter's denials are cached: a fallback denial says nothing about the shared buckets,
        // which may have tokens again the moment Redis is back.
        if (decision instanceof Denied d && !d.fallback() && d.waitMicros() > 0) {
            denied.put(key, new Entry(d, now + d.waitMicros() * 1000));
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

    private static String key(List<Bucket> buckets) {
        StringBuilder sb = new StringBuilder(buckets.get(0).client());
        for (Bucket b : buckets) {
            sb.append('|').append(b.scope()).append('|').append(b.limit().requests()).append('/').append(b.limit().window().toMillis());
        }
        return sb.toString();
    }
}
