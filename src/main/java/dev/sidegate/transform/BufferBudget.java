package dev.sidegate.transform;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes of bodies that body transforms may hold in memory at once, across every route and request: one per
 * Sidegate ({@code server.max_buffered_body_bytes}). Every other path streams through fixed buffers, so this is what
 * bounds the heap a burst of large bodies can take: a body that does not fit is refused (503) before it is read,
 * instead of the JVM running out of heap for every request at once.
 */
public final class BufferBudget {
    /** The default is a sixteenth of the heap: a parsed JSON tree takes several times its text. */
    private static final int HEAP_SHARE = 16;
    private static final long MIN_DEFAULT = 1024 * 1024;

    private final long capacity;
    private final AtomicLong used = new AtomicLong();

    public BufferBudget(long capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity " + capacity);
        }
        this.capacity = capacity;
    }

    /** A sixteenth of this JVM's maximum heap, at least 1 MiB (6 MiB at {@code -Xmx96m}). */
    public static long defaultCapacity() {
        return Math.max(MIN_DEFAULT, Runtime.getRuntime().maxMemory() / HEAP_SHARE);
    }

    public long capacity() {
        return capacity;
    }

    public long used() {
        return used.get();
    }

    /** Takes {@code bytes} from the budget, or nothing when they do not fit. */
    boolean tryTake(long bytes) {
        long now;
        do {
            now = used.get();
            if (bytes > capacity - now) {
                return false;
            }
        } while (!used.compareAndSet(now, now + bytes));
        return true;
    }

    void give(long bytes) {
        used.addAndGet(-bytes);
    }
}
