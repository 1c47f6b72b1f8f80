package dev.sidegate.testing;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.fail;

/** Waits for a condition with a deadline; the only way tests wait for something that has no latch. */
public final class Await {
    private static final Duration DEADLINE = Duration.ofSeconds(20);
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private Await() {
    }

    public static void until(BooleanSupplier condition, String what) {
        until(condition, what, DEADLINE);
    }

    /** With a deadline of its own, for a bound the contract promises (e.g. a reload within 5 seconds). */
    public static void until(BooleanSupplier condition, String what, Duration limit) {
        Instant deadline = Instant.now().plus(limit);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                fail("timed out after " + limit.toMillis() + "ms waiting until " + what);
            }
            LockSupport.parkNanos(POLL_NANOS);
        }
    }
}
