package dev.sidegate.ratelimit;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import javax.net.ssl.SSLSocketFactory;

import dev.sidegate.config.Messages;
import dev.sidegate.upstream.ReadDeadlines;
import dev.sidegate.upstream.TlsTrust;

/**
 * Sidegate's own client for a standalone Redis ({@code redis://}, {@code rediss://}): pooled blocking connections,
 * each lent to one call at a time, which writes its command and reads the reply on the request's own virtual thread.
 * Lettuce hands every command to its Netty event loop and the reply back, and on one core that hand-off cost more
 * than the rest of the Redis path (loadtest/ANALYSIS.md); Sentinel and Cluster still go through Lettuce.
 * <p>
 * At most {@link #MAX_CONNECTIONS} connections are open; a call that finds them all lent waits for one within its
 * timeout. The whole call (waiting, connecting, TLS, the reply) is bounded by the configured timeout: reads carry
 * no socket timeout (a timed read costs a timer per call), a deadline instead, and while a call waits a sweep every
 * quarter of the timeout ({@link #sweepPeriodMillis}) closes the connections past theirs ({@code ReadDeadlines}, as
 * for upstream responses), so a timeout fires up to that much late. A connection
 * that failed in any way is closed, and so are the idle ones beside it (they went to the same server, which has
 * probably gone); one idle for {@link #MAX_IDLE_NANOS} (30 s) is closed instead of being used.
 */
final class RespConnections implements ScriptCalls {
    private static final System.Logger LOG = System.getLogger(RespConnections.class.getName());
    static final int MAX_CONNECTIONS = 16;
    static final long MAX_IDLE_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final RedisSettings settings;
    private final RedisEndpoint endpoint;
    private final int timeoutMillis;
    private final Semaphore lendable = new Semaphore(MAX_CONNECTIONS);
    private final ConcurrentLinkedDeque<RespConnection> idle = new ConcurrentLinkedDeque<>();
    /** Every open connection, lent or idle, for the deadline sweep. */
    private final Set<RespConnection> open = ConcurrentHashMap.newKeySet();
    private final ReadDeadlines deadlines;
    private final long maxIdleNanos;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile SSLSocketFactory tls;

    /** @param timers where the deadline sweep runs */
    RespConnections(RedisSettings settings, ScheduledExecutorService timers) {
        this(settings, timers, MAX_IDLE_NANOS);
    }

    RespConnections(RedisSettings settings, ScheduledExecutorService timers, long maxIdleNanos) {
        this.settings = settings;
        this.maxIdleNanos = maxIdleNanos;
        this.endpoint = RedisEndpoint.of(settings.urls().get(0));
        this.timeoutMillis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, settings.timeout().toMillis()));
        this.deadlines = new ReadDeadlines(timers, sweepPeriodMillis(timeoutMillis),
                new ReadDeadlines.Watched() {
                    @Override
                    public boolean closeOverdue(long nowNanos) {
                        boolean waiting = false;
                        for (RespConnection c : open) {
                            waiting |= c.expireIfOverdue(nowNanos);
                        }
                        return waiting;
                    }

                    @Override
                    public boolean readsWaiting() {
                        return open.stream().anyMatch(RespConnection::inCall);
                    }
                });
    }

    /** A quarter of the timeout, from 5 ms to 50 ms: a 50 ms timeout fires within 62 ms. */
    static long sweepPeriodMillis(long timeoutMillis) {
        return Math.max(5, Math.min(50, timeoutMillis / 4));
    }

    /** Opens the first connection, so that a Redis that is not there is said at start-up (and not only fallen back on). */
    @Override
    public void start() {
        try {
            RespConnection first = RespConnection.open(endpoint, tls(), Math.max(timeoutMillis, 1000));
            open.add(first);
            first.startCall(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.max(timeoutMillis, 1000)));
            deadlines.readStarted();
            Object pong;
            try {
                pong = first.call("PING");
            } catch (IOException e) {
                discard(first);
                throw e;
            }
            first.endCall();
            if (!"PONG".equals(pong)) {
                discard(first);
                throw new IOException("Redis did not answer PING with PONG");
            }
            giveBack(first);
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "Redis " + settings.redactedUrls() + " not reachable yet ("
                    + reason(e) + "); rate limits use the failure policy until it is");
        }
    }

    @Override
    public List<Object> run(String script, String sha, String[] keys, String[] args) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        try {
            if (!lendable.tryAcquire(timeoutMillis, TimeUnit.MILLISECONDS)) {
                throw new CallFailed("all " + MAX_CONNECTIONS + " Redis connections stayed busy for " + timeoutMillis + " ms");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CallFailed("interrupted while waiting for a Redis connection");
        }
        RespConnection connection = null;
        try {
            connection = borrow(deadline);
            connection.startCall(deadline);
            deadlines.readStarted();
            String[] command = new String[3 + keys.length + args.length];
            command[0] = "EVALSHA";
            command[1] = sha;
            command[2] = Integer.toString(keys.length);
            System.arraycopy(keys, 0, command, 3, keys.length);
            System.arraycopy(args, 0, command, 3 + keys.length, args.length);
            Object reply = connection.call(command);
            if (reply instanceof RespConnection.ErrorReply error && error.message().startsWith("NOSCRIPT")) {
                command[0] = "EVAL";
                command[1] = script;
                reply = connection.call(command);
            }
            connection.endCall();
            RespConnection answered = connection;
            connection = null;
            giveBack(answered);
            if (reply instanceof RespConnection.ErrorReply error) {
                throw new CallFailed("Redis answered " + Messages.oneLine(error.message(), 200));
            }
            if (!(reply instanceof List<?> list) || !allIntegers(list)) {
                throw new CallFailed("Redis answered the token-bucket script with something other than integers");
            }
            @SuppressWarnings("unchecked")
            List<Object> integers = (List<Object>) list;
            return integers;
        } catch (IOException e) {
            closeIdle(); // they went to the same server
            throw new CallFailed(reason(e));
        } finally {
            if (connection != null) {
                discard(connection);
            }
            lendable.release();
        }
    }

    private RespConnection borrow(long deadline) throws IOException {
        long now = System.nanoTime();
        for (RespConnection c; (c = idle.pollFirst()) != null; ) {
            // expired: the deadline sweep closed it as its reply arrived, just before it was given back
            if (now - c.idleSinceNanos() < maxIdleNanos && !c.expired()) {
                return c;
            }
            discard(c);
        }
        RespConnection fresh = RespConnection.open(endpoint, tls(), remainingMillis(deadline));
        open.add(fresh);
        return fresh;
    }

    /**
     * The TLS socket factory for {@code rediss://} (null for {@code redis://}), made at the first connection. If the
     * trust cannot be built, no connection is made at all: never one without TLS.
     */
    private SSLSocketFactory tls() throws IOException {
        if (!endpoint.tls()) {
            return null;
        }
        SSLSocketFactory factory = tls;
        if (factory == null) {
            try {
                factory = TlsTrust.context(
                        settings.caFile().isPresent() ? RateLimitSettings.ENV_REDIS_CA : RateLimitSettings.ENV_REDIS_URL,
                        settings.caFile()).getSocketFactory();
            } catch (RuntimeException e) {
                throw new IOException("the TLS trust for Redis cannot be built: " + Messages.oneLine(e));
            }
            tls = factory;
        }
        return factory;
    }

    private void discard(RespConnection c) {
        open.remove(c);
        c.close();
    }

    private void giveBack(RespConnection c) {
        long now = System.nanoTime();
        c.markIdle(now);
        idle.offerFirst(c); // the most recently used is lent first, so that the ones no longer needed age out
        RespConnection oldest = idle.peekLast();
        if (oldest != null && now - oldest.idleSinceNanos() >= maxIdleNanos && idle.removeLastOccurrence(oldest)) {
            discard(oldest);
        }
        if (closed.get()) {
            closeIdle();
        }
    }

    private static boolean allIntegers(List<?> list) {
        for (Object o : list) {
            if (!(o instanceof Long)) {
                return false;
            }
        }
        return !list.isEmpty();
    }

    private int remainingMillis(long deadline) throws SocketTimeoutException {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
            throw new SocketTimeoutException("timed out");
        }
        return (int) left;
    }

    private String reason(Exception e) {
        if (e instanceof SocketTimeoutException) {
            return "Redis did not answer within " + timeoutMillis + " ms";
        }
        return Messages.oneLine(e);
    }

    private void closeIdle() {
        for (RespConnection c; (c = idle.pollFirst()) != null; ) {
            discard(c);
        }
    }

    @Override
    public void close() {
        closed.set(true);
        deadlines.close();
        closeIdle();
    }
}
