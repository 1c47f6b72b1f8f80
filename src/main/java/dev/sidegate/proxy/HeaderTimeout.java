package dev.sidegate.proxy;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.Http1ConnectionListener;

/**
 * Closes client connections that send the request line but then take longer than the header timeout to finish
 * the headers (slowloris). Helidon has no such timeout of its own; a stalled request line is covered by the idle
 * connection timeout.
 *
 * <p>Helidon reads each connection on its own virtual thread and calls this listener on it; interrupting that thread
 * closes its socket.
 */
public final class HeaderTimeout implements Http1ConnectionListener, AutoCloseable {
    private final long timeoutNanos;
    private final Map<Thread, Pending> pending = new ConcurrentHashMap<>();
    private final ScheduledExecutorService sweeper;

    private record Pending(long deadline, AtomicBoolean open) {
    }

    public HeaderTimeout(Duration timeout) {
        this.timeoutNanos = timeout.toNanos();
        this.sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sidegate-header-timeout");
            t.setDaemon(true);
            return t;
        });
        long period = Math.max(50, Math.min(1000, timeout.toMillis() / 4));
        sweeper.scheduleWithFixedDelay(this::sweep, period, period, TimeUnit.MILLISECONDS);
    }

    @Override
    public void prologue(ConnectionContext ctx, HttpPrologue prologue) {
        pending.put(Thread.currentThread(), new Pending(System.nanoTime() + timeoutNanos, new AtomicBoolean(true)));
    }

    @Override
    public void headers(ConnectionContext ctx, Headers headers) {
        Pending p = pending.remove(Thread.currentThread());
        if (p != null) {
            p.open().set(false);
        }
    }

    private void sweep() {
        long now = System.nanoTime();
        pending.forEach((thread, p) -> {
            if (now - p.deadline() > 0 && p.open().compareAndSet(true, false)) {
                pending.remove(thread, p);
                thread.interrupt();
            }
        });
    }

    @Override
    public void close() {
        sweeper.shutdownNow();
    }
}
