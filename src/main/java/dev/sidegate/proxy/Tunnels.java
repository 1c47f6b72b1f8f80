package dev.sidegate.proxy;

import java.util.Optional;
import java.util.concurrent.Semaphore;

/**
 * The WebSocket tunnels open at once, bounded ({@code server.max_tunnels}): a handshake beyond the bound is answered
 * 503 before the upstream is asked.
 */
public final class Tunnels {
    private final int max;
    private final Semaphore permits;

    public Tunnels(int max) {
        this.max = max;
        this.permits = new Semaphore(max);
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
