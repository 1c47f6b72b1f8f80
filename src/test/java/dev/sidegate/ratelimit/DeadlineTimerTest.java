package dev.sidegate.ratelimit;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.netty.util.Timeout;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeadlineTimerTest {

    @Test
    void dueTimeoutsRunAndCancelledOnesNever() throws Exception {
        DeadlineTimer timer = new DeadlineTimer(Executors.defaultThreadFactory());
        try {
            CountDownLatch ran = new CountDownLatch(1);
            AtomicInteger cancelledRuns = new AtomicInteger();
            Timeout cancelled = timer.newTimeout(t -> cancelledRuns.incrementAndGet(), 20, TimeUnit.MILLISECONDS);
            assertTrue(cancelled.cancel());
            assertTrue(cancelled.isCancelled());
            assertFalse(cancelled.cancel(), "only once");
            Timeout due = timer.newTimeout(t -> ran.countDown(), 30, TimeUnit.MILLISECONDS);
            assertTrue(ran.await(10, TimeUnit.SECONDS));
            assertTrue(due.isExpired());
            assertFalse(due.cancel(), "an expired timeout cannot be cancelled");
            assertEquals(timer, due.timer());
            // the cancelled one was due 10 ms before the other: it would have run by now
            assertEquals(0, cancelledRuns.get());
        } finally {
            timer.stop();
        }
    }

    @Test
    void aFailingTaskDoesNotStopTheTimer() throws Exception {
        DeadlineTimer timer = new DeadlineTimer(Executors.defaultThreadFactory());
        try {
            timer.newTimeout(t -> { throw new IllegalStateException("boom"); }, 1, TimeUnit.MILLISECONDS);
            CountDownLatch ran = new CountDownLatch(1);
            timer.newTimeout(t -> ran.countDown(), 5, TimeUnit.MILLISECONDS);
            assertTrue(ran.await(10, TimeUnit.SECONDS));
        } finally {
            timer.stop();
        }
    }

    @Test
    void aStoppedTimerRefusesNewTimeouts() {
        DeadlineTimer timer = new DeadlineTimer(Executors.defaultThreadFactory());
        timer.stop();
        assertThrows(IllegalStateException.class, () -> timer.newTimeout(t -> { }, 1, TimeUnit.MILLISECONDS));
    }
}
