package dev.sidegate.ratelimit;

import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.netty.util.Timeout;
import io.netty.util.Timer;
import io.netty.util.TimerTask;

/**
 * The timer Lettuce expires commands and schedules reconnects on: one thread that sleeps until the next deadline.
 * Netty's {@code HashedWheelTimer} ticks whether or not anything is due; at the 5 ms tick the 50 ms Redis timeout
 * needs, that was 200 wake-ups a second, about 1.6% of a core on an idle Sidegate (loadtest/ANALYSIS.md). Cancelled
 * timeouts leave the queue at once, so a command that completes costs a schedule and a removal, not a wake-up.
 */
final class DeadlineTimer implements Timer {
    private static final System.Logger LOG = System.getLogger(DeadlineTimer.class.getName());
    private final ScheduledThreadPoolExecutor executor;

    DeadlineTimer(ThreadFactory threads) {
        executor = new ScheduledThreadPoolExecutor(1, threads);
        executor.setRemoveOnCancelPolicy(true);
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    @Override
    public Timeout newTimeout(TimerTask task, long delay, TimeUnit unit) {
        Scheduled timeout = new Scheduled(task);
        try {
            timeout.future = executor.schedule(timeout, delay, unit);
        } catch (RejectedExecutionException e) {
            throw new IllegalStateException("the Redis timer is stopped", e);
        }
        if (timeout.isCancelled()) {
            timeout.future.cancel(false); // cancelled before its future was known
        }
        return timeout;
    }

    /** Stops the thread; timeouts not yet due never run (Sidegate stops it after closing the connection). */
    @Override
    public Set<Timeout> stop() {
        executor.shutdownNow();
        return Set.of();
    }

    private final class Scheduled implements Timeout, Runnable {
        private static final int PENDING = 0;
        private static final int EXPIRED = 1;
        private static final int CANCELLED = 2;
        private final TimerTask task;
        private final AtomicInteger state = new AtomicInteger(PENDING);
        private volatile ScheduledFuture<?> future;

        Scheduled(TimerTask task) {
            this.task = task;
        }

        @Override
        public void run() {
            if (state.compareAndSet(PENDING, EXPIRED)) {
                try {
                    task.run(this);
                } catch (Throwable t) {
                    LOG.log(System.Logger.Level.WARNING, "a Redis timer task failed: " + t);
                }
            }
        }

        @Override
        public Timer timer() {
            return DeadlineTimer.this;
        }

        @Override
        public TimerTask task() {
            return task;
        }

        @Override
        public boolean isExpired() {
            return state.get() == EXPIRED;
        }

        @Override
        public boolean isCancelled() {
            return state.get() == CANCELLED;
        }

        @Override
        public boolean cancel() {
            if (!state.compareAndSet(PENDING, CANCELLED)) {
                return false;
            }
            ScheduledFuture<?> f = future;
            if (f != null) {
                f.cancel(false);
            }
            return true;
        }
    }
}
