package dev.sidegate.proxy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketOption;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import io.helidon.common.socket.SocketOptions;

/**
 * Caps on open client connections: all of them, and those from one client IP (trusted proxies, which carry many
 * clients, count towards the total only). A connection over a cap is closed right after accept, before Helidon
 * gives it a thread or a buffer: the cheapest refusal there is.
 *
 * <p>Helidon hands every accepted socket to the listener's {@link SocketOptions} before anything else; this is
 * that hook, with the listener's own options delegated to.
 */
public final class ConnectionLimits implements AutoCloseable {
    /** Heap per client connection that the default cap allows for: an active one holds about 32 KB, plus headroom. */
    private static final long HEAP_PER_CONNECTION = 64 * 1024;
    private static final int MOST_BY_DEFAULT = 1024;
    private static final int FEWEST_BY_DEFAULT = 64;

    /**
     * The default of {@code server.max_connections}: one connection per 64 KiB of maximum heap, from 64 to 1,024
     * (1,024 from a 64 MB heap up). Every open connection holds its buffers (Helidon's two 8 KiB socket buffers, and
     * while a request is in flight an upstream connection's 12 KiB), so a cap the heap cannot hold turns a flood of
     * connections into an OutOfMemoryError (measured: 1,000 active connections at a 48 MB heap, loadtest/burst.sh).
     */
    public static int defaultMaxTotal(long maxHeapBytes) {
        return (int) Math.max(FEWEST_BY_DEFAULT, Math.min(MOST_BY_DEFAULT, maxHeapBytes / HEAP_PER_CONNECTION));
    }

    private final int maxTotal;
    private final int maxPerIp;
    private final Forwarding trusted;
    private final Consumer<String> onRefused;
    private final Map<InetAddress, Set<SocketChannel>> byAddress = new ConcurrentHashMap<>();
    private final AtomicInteger tracked = new AtomicInteger();
    private final ScheduledFuture<?> pruning;

    /**
     * @param onRefused told {@code total} or {@code per_ip} for each refused connection (a metric)
     * @param timers    prunes closed connections from the counts every few seconds
     */
    public ConnectionLimits(int maxTotal, int maxPerIp, Forwarding trusted, Consumer<String> onRefused,
                            ScheduledExecutorService timers) {
        this.maxTotal = maxTotal;
        this.maxPerIp = maxPerIp;
        this.trusted = trusted;
        this.onRefused = onRefused;
        this.pruning = timers.scheduleWithFixedDelay(this::pruneAll, 5, 5, TimeUnit.SECONDS);
    }

    /** The listener's socket options, with this admission check in front. */
    public SocketOptions socketOptions(SocketOptions listener) {
        return new Admitting(listener);
    }

    /** Client connections open now (closed ones are forgotten within a few seconds). */
    public int open() {
        return tracked.get();
    }

    private synchronized void admit(SocketChannel channel) {
        InetAddress address;
        try {
            address = ((InetSocketAddress) channel.getRemoteAddress()).getAddress();
        } catch (IOException | RuntimeException e) {
            throw new Refused("the connection closed before it was admitted");
        }
        if (tracked.get() >= maxTotal && pruneAll() >= maxTotal) {
            onRefused.accept("total");
            throw new Refused("over the limit of " + maxTotal + " client connections");
        }
        Set<SocketChannel> mine = byAddress.computeIfAbsent(address, a -> ConcurrentHashMap.newKeySet());
        if (mine.size() >= maxPerIp && !trusted.trusted(address) && prune(mine) >= maxPerIp) {
            onRefused.accept("per_ip");
            throw new Refused("over the limit of " + maxPerIp + " connections from one client address");
        }
        mine.add(channel);
        tracked.incrementAndGet();
    }

    private int prune(Set<SocketChannel> channels) {
        channels.removeIf(c -> {
            if (c.isOpen()) {
                return false;
            }
            tracked.decrementAndGet();
            return true;
        });
        return channels.size();
    }

    private synchronized int pruneAll() {
        byAddress.forEach((address, channels) -> {
            prune(channels);
            if (channels.isEmpty()) {
                byAddress.remove(address, channels);
            }
        });
        return tracked.get();
    }

    @Override
    public void close() {
        pruning.cancel(false);
    }

    /** Thrown into Helidon's accept loop, which closes the socket and goes on accepting. */
    private static final class Refused extends RuntimeException {
        Refused(String message) {
            super(message, null, false, false);
        }
    }

    private final class Admitting implements SocketOptions {
        private final SocketOptions delegate;

        Admitting(SocketOptions delegate) {
            this.delegate = delegate;
        }

        @Override
        public void configureSocket(SocketChannel socket) {
            admit(socket);
            delegate.configureSocket(socket);
        }

        @Override
        public void configureSocket(java.net.Socket socket) {
            delegate.configureSocket(socket);
        }

        @Override
        public Map<SocketOption<?>, Object> socketOptions() {
            return delegate.socketOptions();
        }

        @Override
        public Duration connectTimeout() {
            return delegate.connectTimeout();
        }

        @Override
        public Duration readTimeout() {
            return delegate.readTimeout();
        }

        @Override
        public Optional<Integer> socketReceiveBufferSize() {
            return delegate.socketReceiveBufferSize();
        }

        @Override
        public Optional<Integer> socketSendBufferSize() {
            return delegate.socketSendBufferSize();
        }

        @Override
        public boolean socketReuseAddress() {
            return delegate.socketReuseAddress();
        }

        @Override
        public boolean socketKeepAlive() {
            return delegate.socketKeepAlive();
        }

        @Override
        public boolean tcpNoDelay() {
            return delegate.tcpNoDelay();
        }
    }
}
