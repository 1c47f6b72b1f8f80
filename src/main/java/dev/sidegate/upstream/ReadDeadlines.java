package dev.sidegate.upstream;

import java.util.Collection;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Enforces upstream response timeouts: while any read of an upstream connection is waiting, a sweep every
 * {@value #PERIOD_MILLIS} ms closes the connections whose read is past its deadline (the read then reports the
 * timeout), so a timeout fires up to that much late. With no read waiting nothing is scheduled: an idle Sidegate
 * does not wake up twenty times a second for it (loadtest/ANALYSIS.md, idle CPU).
 */
final class ReadDeadlines implements AutoCloseable {
    static final long PERIOD_MILLIS = 50;
    private final ScheduledExecutorService timers;
    private final Collection<ConnectionPool> pools;
    private final AtomicBoolean armed = new AtomicBoolean();
    private volatile boolean closed;

    ReadDeadlines(ScheduledExecutorService timers, Collection<ConnectionPool> pools) {
        this.timers = timers;
        this.pools = pools;
    }

    /** A read is about to wait (its deadline is already recorded): makes sure a sweep will come. */
    void readStarted() {
        if (!armed.get() && armed.compareAndSet(false, true)) {
            schedule();
        }
    }

    /** Whether sweeps are scheduled (for tests). */
    boolean armed() {
        return armed.get();
    }

    private void schedule() {
        if (closed) {
            return;
        }
        try {
            timers.schedule(this::sweep, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // shutting down: nothing is waited for any more
        }
    }

    private void sweep() {
        boolean again = true;
        try {
            again = sweepOnce();
        } finally {
            if (again) {
                schedule(); // also after a failure, so that timeouts keep firing
            }
        }
    }

    /** @return whether another sweep is needed */
    private boolean sweepOnce() {
        long now = System.nanoTime();
        boolean waiting = false;
        for (ConnectionPool pool : pools) {
            waiting |= pool.closeOverdueReads(now);
        }
        if (waiting) {
            return true;
        }
        armed.set(false);
        // A read that recorded its deadline after the scan above saw armed still true and scheduled nothing: look
        // again now that readStarted() will arm for any later one.
        for (ConnectionPool pool : pools) {
            if (pool.readsWaiting()) {
                return armed.compareAndSet(false, true);
            }
        }
        return false;
    }

    @Override
    public void close() {
        closed = true;
    }
}
