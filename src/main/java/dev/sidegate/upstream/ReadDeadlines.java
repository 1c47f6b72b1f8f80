package dev.sidegate.upstream;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Enforces read deadlines without a timer per read (a timed read parks its virtual thread with a timer of its own,
 * which cost about 10 us per call, loadtest/ANALYSIS.md): while any read waits, a sweep every {@code periodMillis}
 * closes the connections whose read is past its deadline (the read then reports the timeout), so a timeout fires up
 * to that much late. With no read waiting nothing is scheduled: an idle Sidegate does not wake up for it
 * (loadtest/ANALYSIS.md, idle CPU). Upstream response timeouts and Redis calls both use it.
 */
public final class ReadDeadlines implements AutoCloseable {
    /** The upstream connections' sweep period. */
    static final long PERIOD_MILLIS = 50;

    /** What the sweeps look at. */
    public interface Watched {
        /** Closes the connections whose read is past its deadline; returns whether any read still waits. */
        boolean closeOverdue(long nowNanos);

        /** Whether any read waits (a deadline is recorded). */
        boolean readsWaiting();
    }

    private final ScheduledExecutorService timers;
    private final long periodMillis;
    private final Watched watched;
    private final AtomicBoolean armed = new AtomicBoolean();
    private volatile boolean closed;

    public ReadDeadlines(ScheduledExecutorService timers, long periodMillis, Watched watched) {
        this.timers = timers;
        this.periodMillis = periodMillis;
        this.watched = watched;
    }

    /** A read is about to wait (its deadline is already recorded): makes sure a sweep will come. */
    public void readStarted() {
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
            timers.schedule(this::sweep, periodMillis, TimeUnit.MILLISECONDS);
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
        if (watched.closeOverdue(System.nanoTime())) {
            return true;
        }
        armed.set(false);
        // A read that recorded its deadline after the scan above saw armed still true and scheduled nothing: look
        // again now that readStarted() will arm for any later one.
        return watched.readsWaiting() && armed.compareAndSet(false, true);
    }

    @Override
    public void close() {
        closed = true;
    }
}
