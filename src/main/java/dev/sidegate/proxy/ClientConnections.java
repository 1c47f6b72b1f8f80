package dev.sidegate.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.sidegate.config.Durations;
import io.helidon.common.buffers.BufferData;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.Http1ConnectionListener;

/**
 * Timeouts on what clients send, and closing a client connection on purpose. Helidon reads each connection on a
 * virtual thread of its own and calls this listener on it, so per-connection state lives on that thread.
 *
 * <ul>
 *   <li><b>Header timeout</b> (slowloris): a client that sends the request line but not the end of its headers in
 *       time is disconnected (interrupting the connection's thread closes its socket). A stalled request line is
 *       covered by the idle connection timeout.</li>
 *   <li><b>Body timeout</b>: while the pipeline reads a request body, a read that waits longer than the body timeout
 *       is answered {@code 408} and the connection closed, so a stalled upload frees its bulkhead slot.</li>
 *   <li><b>Send timeout</b>: a write of the response that waits longer than the body timeout for a client that
 *       does not read cuts the connection, so a slow reader cannot hold a slot (or an upstream connection).</li>
 *   <li><b>Close after the response</b>, for a request that said {@code Connection: close}.</li>
 *   <li><b>Caps</b> on open connections, in total and per client address ({@link ConnectionLimits}).</li>
 * </ul>
 */
public final class ClientConnections implements Http1ConnectionListener, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ClientConnections.class.getName());

    private final long headerTimeoutNanos;
    private final Duration bodyTimeout;
    private final ThreadLocal<ConnectionContext> connection = new ThreadLocal<>();
    private final ThreadLocal<Boolean> bodyTimedOut = new ThreadLocal<>();
    private final Map<Thread, Watch> watched = new ConcurrentHashMap<>();
    private final ScheduledFuture<?> sweeper;
    private final ConnectionLimits limits;
    private final String requestIdHeader;

    private enum Phase { HEADERS, BODY, SEND }

    /** One wait being watched; {@code fired} flips once, by whoever ends it first. */
    private record Watch(Phase phase, long deadlineNanos, ConnectionContext ctx, String traceId, String requestId,
                         AtomicBoolean fired) {
    }

    /**
     * @param limits          the caps on open connections, checked at accept
     * @param requestIdHeader names the request id on the 408 this class writes itself (null: none)
     * @param timers          runs the timeout sweep
     */
    public ClientConnections(Duration headerTimeout, Duration bodyTimeout, ConnectionLimits limits, String requestIdHeader,
                             ScheduledExecutorService timers) {
        ReadChains.available(); // says at startup, once, when Helidon's reader is not the shape the cut knows
        this.requestIdHeader = requestIdHeader;
        this.headerTimeoutNanos = headerTimeout.toNanos();
        this.bodyTimeout = bodyTimeout;
        this.limits = limits;
        long shortest = Math.min(headerTimeout.toMillis(), bodyTimeout.toMillis());
        long period = Math.max(20, Math.min(1000, shortest / 4));
        this.sweeper = timers.scheduleWithFixedDelay(this::sweep, period, period, TimeUnit.MILLISECONDS);
    }

    @Override
    public void prologue(ConnectionContext ctx, HttpPrologue prologue) {
        ReadChains.cut(ctx.dataReader());
        connection.set(ctx);
        watched.put(Thread.currentThread(), new Watch(Phase.HEADERS, System.nanoTime() + headerTimeoutNanos, ctx, null, null,
                                                      new AtomicBoolean()));
    }

    @Override
    public void headers(ConnectionContext ctx, Headers headers) {
        Watch w = watched.remove(Thread.currentThread());
        if (w != null) {
            w.fired().set(true);
        }
        bodyTimedOut.remove();
    }

    /** Wraps a request body so that every read is bounded by the body timeout. Call on the connection's thread. */
    public InputStream guard(InputStream body, String traceId, String requestId) {
        ConnectionContext ctx = connection.get();
        return ctx == null ? body : new GuardedBody(body, ctx, traceId, requestId);
    }

    /** Wraps the response stream so that every write and flush is bounded by the body timeout. */
    public java.io.OutputStream guard(java.io.OutputStream response) {
        ConnectionContext ctx = connection.get();
        return ctx == null ? response : new GuardedResponse(response, ctx);
    }

    /** Runs a write of the response (a whole small response, for one) within the send timeout. */
    public void whileSending(Runnable write) {
        ConnectionContext ctx = connection.get();
        if (ctx == null) {
            write.run();
            return;
        }
        Watch w = watchSend(ctx);
        try {
            write.run();
        } finally {
            unwatch(w);
        }
    }

    private Watch watchSend(ConnectionContext ctx) {
        Watch w = new Watch(Phase.SEND, System.nanoTime() + bodyTimeout.toNanos(), ctx, null, null, new AtomicBoolean());
        watched.put(Thread.currentThread(), w);
        return w;
    }

    private void unwatch(Watch w) {
        w.fired().set(true);
        watched.remove(Thread.currentThread(), w);
    }

    private final class GuardedResponse extends java.io.FilterOutputStream {
        private final ConnectionContext ctx;

        GuardedResponse(java.io.OutputStream out, ConnectionContext ctx) {
            super(out);
            this.ctx = ctx;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            Watch w = watchSend(ctx);
            try {
                out.write(b, off, len);
            } finally {
                unwatch(w);
            }
        }

        @Override
        public void flush() throws IOException {
            Watch w = watchSend(ctx);
            try {
                out.flush();
            } finally {
                unwatch(w);
            }
        }
    }

    /** Whether a body read on this connection's thread timed out (its 408 is already sent). */
    public boolean bodyTimedOut() {
        return bodyTimedOut.get() != null;
    }

    /** Closes the client connection of the current thread; call once its response has been sent. */
    public void closeCurrent() {
        ConnectionContext ctx = connection.get();
        if (ctx != null) {
            try {
                ctx.serverSocket().close();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "closing a client connection: " + e);
            }
        }
    }

    private final class GuardedBody extends BlockReadInputStream {
        private final InputStream in;
        private final ConnectionContext ctx;
        private final String traceId;
        private final String requestId;

        GuardedBody(InputStream in, ConnectionContext ctx, String traceId, String requestId) {
            this.in = in;
            this.ctx = ctx;
            this.traceId = traceId;
            this.requestId = requestId;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            Thread self = Thread.currentThread();
            Watch w = new Watch(Phase.BODY, System.nanoTime() + bodyTimeout.toNanos(), ctx, traceId, requestId,
                                new AtomicBoolean());
            watched.put(self, w);
            int n;
            try {
                n = in.read(b, off, len);
            } catch (IOException | RuntimeException e) {
                if (claimedBySweeper(w)) {
                    throw new BodyTimeoutException(bodyTimeout);
                }
                throw e;
            } finally {
                watched.remove(self, w);
            }
            if (claimedBySweeper(w)) {
                throw new BodyTimeoutException(bodyTimeout); // the bytes came, but only after the 408 went out
            }
            return n;
        }

        /** Ends the watch; true when the sweeper ended it first (it answered 408 and interrupts this thread). */
        private boolean claimedBySweeper(Watch w) {
            if (w.fired().compareAndSet(false, true)) {
                return false;
            }
            bodyTimedOut.set(Boolean.TRUE);
            Thread.interrupted();
            return true;
        }

        @Override
        public int available() throws IOException {
            return in.available();
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    /** A request body read that waited longer than the body timeout. */
    public static final class BodyTimeoutException extends IOException {
        BodyTimeoutException(Duration timeout) {
            super("the client sent no request body bytes for " + Durations.format(timeout));
        }
    }

    private void sweep() {
        long now = System.nanoTime();
        watched.forEach((thread, w) -> {
            if (now - w.deadlineNanos() > 0 && w.fired().compareAndSet(false, true)) {
                watched.remove(thread, w);
                if (w.phase() == Phase.BODY) {
                    answerTimeout(w);
                }
                thread.interrupt();
            }
        });
    }

    /** Writes the 408 while the connection's thread is blocked reading the body; it is closed right after. */
    private void answerTimeout(Watch w) {
        String trace = w.traceId() == null ? TraceIds.random() : w.traceId();
        byte[] body = Problem.of(408, "request-body-timeout", "Request body timeout",
                                 "the client sent no request body bytes for " + Durations.format(bodyTimeout))
                .toJson(trace, w.requestId());
        String head = "HTTP/1.1 408 Request Timeout\r\nContent-Type: " + Problem.CONTENT_TYPE
                + "\r\nCache-Control: no-store\r\nConnection: close\r\nX-Trace-Id: " + trace
                + (w.requestId() == null ? "" : "\r\n" + requestIdHeader + ": " + w.requestId())
                + "\r\nContent-Length: " + body.length + "\r\n\r\n";
        byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[headBytes.length + body.length];
        System.arraycopy(headBytes, 0, all, 0, headBytes.length);
        System.arraycopy(body, 0, all, headBytes.length, body.length);
        try {
            w.ctx().dataWriter().writeNow(BufferData.create(all));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "writing a 408 to a stalled client: " + e);
        }
    }

    /** How often a listener looks for idle connections to close: a quarter of the timeout, 0.1 to 10 seconds. */
    public static Duration idleCheckPeriod(Duration idleTimeout) {
        return Duration.ofMillis(Math.max(100, Math.min(10_000, idleTimeout.toMillis() / 4)));
    }

    /** The listener's socket options with the connection caps in front. */
    public io.helidon.common.socket.SocketOptions socketOptions(io.helidon.common.socket.SocketOptions listener) {
        return limits.socketOptions(listener);
    }

    @Override
    public void close() {
        sweeper.cancel(false);
        limits.close();
    }
}
