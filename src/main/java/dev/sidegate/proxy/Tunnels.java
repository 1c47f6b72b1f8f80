package dev.sidegate.proxy;

import java.util.Optional;
import java.util.concurrent.Semaphore;

/**
 * The WebSocket tunnels open at once, bounded ({@code server.max_tunnels}): a handshake beyond the bound is answered
 * 503 before the upstream is asked.
 */
public final class Tunnels {
    private final int max;
    private final long maxFrameBytes;
    private final Semaphore permits;

    /** @param maxFrameBytes the largest frame payload a tunnel relays; a larger one ends it with a close 1009 */
    public Tunnels(int max, long maxFrameBytes) {
        this.max = max;
        this.maxFrameBytes = maxFrameBytes;
        this.permits = new Semaphore(max);
    }

    long maxFrameBytes() {
        return maxFrameBytes;
    }

    /** A place for one more tunnel; release it exactly once when the tunnel (or its handshake) ends. */
    Optional<Runnable> tryOpen() {
        if (!permits.tryAcquire()) {
            return Optional.empty();
        }
        java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
        return Optional.of(() -> {
            if (released.compareAndSet(false, true)) {
                permits.release();
            }
        });
    }

    /** Tunnels open now. */
    public int open() {
        return max - permits.availablePermits();
    }

    public int max() {
        return max;
    }
}
