package dev.sidegate.ratelimit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Token buckets in this process, with exactly the semantics of the Redis script (fractional refill at
 * microsecond resolution, all-or-nothing across a request's buckets), on the monotonic clock. Used when no Redis
 * is configured, and as the fallback while Redis is unavailable, then with each capacity divided by the number of
 * instances that share the limit.
 */
public final class LocalRateLimiter implements RateLimiter {
    private final long share;
    private final Map<String, Client> clients = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timers;
    private volatile java.util.concurrent.ScheduledFuture<?> sweep;

    /**
     * @param share  divide every capacity by this (1: the full limit)
     * @param timers forgets buckets that are full again, every 30 s once started
     */
    public LocalRateLimiter(long share, ScheduledExecutorService timers) {
        this.share = share;
        this.timers = timers;
    }

    @Override
    public void start() {
        sweep = timers.scheduleWithFixedDelay(this::forgetFullBuckets, 30, 30, TimeUnit.SECONDS);
    }

    private static final class Client {
        private final ReentrantLock lock = new ReentrantLock();
        private final Map<String, double[]> buckets = new HashMap<>(4); // scope -> {tokens, micros}
        private long lastUse;
        private long longestWindow;
        private boolean forgotten;
    }

    @Override
    public Decision acquire(List<Bucket> buckets) {
        while (true) {
            Client client = clients.computeIfAbsent(buckets.get(0).client(), k -> new Client());
            client.lock.lock();
            try {
                if (!client.forgotten) {
                    return acquire(client, buckets);
                }
            } finally {
                client.lock.unlock();
            }
        }
    }

    private Decision acquire(Client client, List<Bucket> buckets) {
        long now = System.nanoTime() / 1000;
        client.lastUse = now;
        double[] tokens = new double[buckets.size()];
        boolean allowed = true;
        for (int i = 0; i < buckets.size(); i++) {
            Bucket b = buckets.get(i);
            double capacity = capacity(b.limit());
            client.longestWindow = Math.max(client.longestWindow, b.limit().refillMicros());
            double[] state = client.buckets.computeIfAbsent(b.scope(), k -> new double[] {capacity, now});
            double tok = Math.min(capacity, state[0] + Math.max(0, now - state[1]) * rate(b.limit()));
            tokens[i] = tok;
            if (tok < 1) {
                allowed = false;
            }
        }
        List<BucketState> states = new ArrayList<>(buckets.size());
        for (int i = 0; i < buckets.size(); i++) {
            Bucket b = buckets.get(i);
            double tok = tokens[i];
            if (allowed) {
                tok -= 1;
                double[] state = client.buckets.get(b.scope());
                state[0] = tok;
                state[1] = now;
            }
            long wait = tok >= 1 ? 0 : (long) Math.ceil((1 - tok) / rate(b.limit()));
            states.add(new BucketState(b, (long) Math.floor(tok), wait));
        }
        return allowed ? new Allowed(states) : new Denied(states);
    }

    private double capacity(Limit limit) {
        return Math.max(1, limit.requests() / share);
    }

    private double rate(Limit limit) {
        return capacity(limit) / (limit.window().toNanos() / 1000.0);
    }

    /** Buckets untouched for a whole window are full again: forgetting them changes nothing. */
    private void forgetFullBuckets() {
        long now = System.nanoTime() / 1000;
        for (Map.Entry<String, Client> e : clients.entrySet()) {
            Client client = e.getValue();
            client.lock.lock();
            try {
                if (now - client.lastUse > client.longestWindow) {
                    client.forgotten = true;
                    clients.remove(e.getKey(), client);
                }
            } finally {
                client.lock.unlock();
            }
        }
    }

    @Override
    public void close() {
        if (sweep != null) {
            sweep.cancel(false);
        }
    }
}
