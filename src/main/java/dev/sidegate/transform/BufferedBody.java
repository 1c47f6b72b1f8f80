package dev.sidegate.transform;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;

/**
 * Reads a body whole for a body transform, within the route's limit and the Sidegate-wide {@link BufferBudget}.
 * The bytes stay counted against the budget until the outcome's lease is released: when the transformed body
 * has been sent on and is no longer held.
 */
final class BufferedBody {
    private static final int FIRST_CHUNK = 1024;

    private BufferedBody() {
    }

    /** What reading a body came to. */
    sealed interface Read permits Whole, TooLarge, OverBudget {
    }

    /** The whole body, {@code length} bytes of {@code bytes}, counted against the budget until {@code lease} closes. */
    record Whole(byte[] bytes, int length, Lease lease) implements Read {
    }

    /** Longer than the route's limit; nothing is held. */
    record TooLarge() implements Read {
    }

    /** The budget has no room for it now; nothing is held. */
    record OverBudget(long budget) implements Read {
    }

    /** Bytes taken from a budget, given back once on the first {@link #close()}. */
    static final class Lease implements AutoCloseable {
        private final BufferBudget budget;
        private long held;

        private Lease(BufferBudget budget) {
            this.budget = budget;
        }

        boolean grow(long bytes) {
            if (!budget.tryTake(bytes)) {
                return false;
            }
            held += bytes;
            return true;
        }

        @Override
        public void close() {
            long bytes = held;
            held = 0;
            budget.give(bytes);
        }
    }

    /**
     * @param declared the body's Content-Length, or -1 when it is not known (chunked)
     * @throws UncheckedIOException when reading the body fails; nothing is held then
     */
    static Read read(InputStream in, long declared, long limit, BufferBudget budget) {
        if (declared > limit) {
            return new TooLarge();
        }
        Lease lease = new Lease(budget);
        // A declared length is taken whole before a byte is read; otherwise the buffer grows, and is counted, as it fills.
        int size = (int) (declared >= 0 ? declared : Math.min(FIRST_CHUNK, limit + 1));
        if (!lease.grow(size)) {
            return new OverBudget(budget.capacity());
        }
        byte[] buffer = new byte[size];
        int filled = 0;
        try {
            while (true) {
                if (filled == buffer.length) {
                    if (declared >= 0 || filled > limit) {
                        break;
                    }
                    int grown = (int) Math.min(limit + 1, (long) buffer.length * 2);
                    if (!lease.grow(grown - buffer.length)) {
                        lease.close();
                        return new OverBudget(budget.capacity());
                    }
                    buffer = Arrays.copyOf(buffer, grown);
                }
                int n = in.read(buffer, filled, buffer.length - filled);
                if (n < 0) {
                    break;
                }
                filled += n;
            }
        } catch (IOException e) {
            lease.close();
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            lease.close();
            throw e;
        }
        if (filled > limit) {
            lease.close();
            return new TooLarge();
        }
        return new Whole(buffer, filled, lease);
    }
}
