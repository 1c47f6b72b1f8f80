package dev.sidegate.upstream;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The connection pools of one Sidegate, one per upstream origin and connection settings. They outlive configuration
 * reloads (a reload with the same upstream keeps its warm connections); closing this closes every connection.
 */
public final class Upstreams implements AutoCloseable {
    private final Map<Key, ConnectionPool> pools = new ConcurrentHashMap<>();
    private final ScheduledFuture<?> eviction;
    private final ReadDeadlines readDeadlines;

    private record Key(Origin origin, ConnectionSettings settings) {
    }

    /** @param housekeeping runs the idle eviction once a second, and the response-timeout sweeps while reads wait */
    public Upstreams(ScheduledExecutorService housekeeping) {
        this.eviction = housekeeping.scheduleWithFixedDelay(this::evictExpired, 1, 1, TimeUnit.SECONDS);
        this.readDeadlines = new ReadDeadlines(housekeeping, ReadDeadlines.PERIOD_MILLIS, new ReadDeadlines.Watched() {
            @Override
            public boolean closeOverdue(long nowNanos) {
                boolean waiting = false;
                for (ConnectionPool pool : pools.values()) {
                    waiting |= pool.closeOverdueReads(nowNanos);
                }
                return waiting;
            }

            @Override
            public boolean readsWaiting() {
                return pools.values().stream().anyMatch(ConnectionPool::readsWaiting);
            }
        });
    }

    /**
     * The HTTP/1.1 path to an upstream. Its pool is found (or created) on first use, so building a pipeline that is
     * never swapped in leaves no pool behind.
     */
    public Http1Upstream http1(URI url, ConnectionSettings settings) {
        Origin origin = Origin.of(url);
        Key key = new Key(origin, settings);
        return new Http1Upstream(origin, () -> pools.computeIfAbsent(key, k -> new ConnectionPool(
                origin, origin.secure() ? TlsTrust.context("upstreams.tls.ca_file", settings.caFile()) : null,
                settings.maxIdle(), settings.idleTimeout(), readDeadlines)));
    }

    /** Whether response-timeout sweeps are scheduled: only while a read of an upstream connection waits. */
    boolean sweepingReadDeadlines() {
        return readDeadlines.armed();
    }

    private void evictExpired() {
        pools.values().forEach(ConnectionPool::evictExpired);
    }

    /** Open and idle connections per origin, for the admin view. */
    public Map<String, Map<String, Integer>> describe() {
        Map<String, Map<String, Integer>> all = new LinkedHashMap<>();
        pools.values().stream().sorted(java.util.Comparator.comparing(p -> p.origin().toString())).forEach(p ->
                all.merge(p.origin().toString(), Map.of("open", p.openConnections(), "idle", p.idleConnections()),
                          (a, b) -> Map.of("open", a.get("open") + b.get("open"), "idle", a.get("idle") + b.get("idle"))));
        return all;
    }

    @Override
    public void close() {
        eviction.cancel(false);
        readDeadlines.close();
        pools.values().forEach(ConnectionPool::close);
    }
}
