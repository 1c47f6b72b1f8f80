package dev.sidegate.upstream;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * Keep-alive connections to one upstream origin. Idle connections are kept newest first (the warmest is reused),
 * at most {@code maxIdle} of them, each for at most {@code idleTimeout}; an idle connection that received a byte or
 * was closed by the upstream is never handed out. Every open connection is known, so closing the pool closes them all.
 */
final class ConnectionPool {
    private final Origin origin;
    private final SSLContext tls;
    private final int maxIdle;
    private final long idleTimeoutNanos;
    private final ConcurrentLinkedDeque<Http1Connection> idle = new ConcurrentLinkedDeque<>();
    private final AtomicInteger idleCount = new AtomicInteger();
    private final Set<Http1Connection> open = ConcurrentHashMap.newKeySet();
    private final ReadDeadlines deadlines;
    private volatile boolean closed;

    /** @param tls the trust for https origins; null for http */
    ConnectionPool(Origin origin, SSLContext tls, int maxIdle, Duration idleTimeout, ReadDeadlines deadlines) {
        this.deadlines = deadlines;
        this.origin = origin;
        this.tls = tls;
        this.maxIdle = maxIdle;
        this.idleTimeoutNanos = idleTimeout.toNanos();
    }

    Origin origin() {
        return origin;
    }

    int openConnections() {
        return open.size();
    }

    int idleConnections() {
        return idleCount.get();
    }

    /** An idle connection that can take a request, or null when there is none. */
    Http1Connection pollIdle() {
        long now = System.nanoTime();
        Http1Connection c;
        while ((c = idle.pollFirst()) != null) {
            idleCount.decrementAndGet();
            if (now - c.idleSinceNanos() < idleTimeoutNanos && c.usable()) {
                return c;
            }
            c.close();
        }
        return null;
    }

    /** Opens a new connection (and does the TLS handshake) within the connect timeout. */
    Http1Connection connect(Duration timeout) throws UpstreamException {
        if (closed) {
            throw new UpstreamException(UpstreamException.Kind.CLOSED, "Sidegate is shutting down");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        InetAddress[] addresses;
        try {
            addresses = InetAddress.getAllByName(origin.host());
        } catch (UnknownHostException e) {
            throw new UpstreamException(UpstreamException.Kind.UNRESOLVED, "cannot resolve " + origin.host(), e);
        }
        UpstreamException last = null;
        for (InetAddress address : addresses) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            try {
                return open(address, (int) Math.max(1, left / 1_000_000));
            } catch (UpstreamException e) {
                last = e;
                if (e.kind() == UpstreamException.Kind.TLS) {
                    throw e; // the host answered: another address would not change its certificate
                }
            }
        }
        throw last != null ? last : new UpstreamException(UpstreamException.Kind.CONNECT_TIMEOUT, "no connection to "
                + origin + " within the connect timeout");
    }

    private Http1Connection open(InetAddress address, int timeoutMillis) throws UpstreamException {
        SocketChannel channel = null;
        try {
            channel = SocketChannel.open();
            Socket plain = channel.socket();
            plain.setTcpNoDelay(true);
            plain.setKeepAlive(true);
            try {
                plain.connect(new InetSocketAddress(address, origin.port()), timeoutMillis);
            } catch (SocketTimeoutException e) {
                throw new UpstreamException(UpstreamException.Kind.CONNECT_TIMEOUT, "no connection to " + origin
                        + " within the connect timeout", e);
            } catch (ConnectException | NoRouteToHostException e) {
                throw new UpstreamException(UpstreamException.Kind.REFUSED, "cannot connect to " + origin + ": "
                        + e.getClass().getSimpleName(), e);
            }
            Socket socket = plain;
            if (tls != null) {
                socket = handshake(plain, timeoutMillis);
            }
            Http1Connection connection = new Http1Connection(this, socket, channel);
            open.add(connection);
            if (closed) {
                connection.close();
                throw new UpstreamException(UpstreamException.Kind.CLOSED, "Sidegate is shutting down");
            }
            return connection;
        } catch (UpstreamException e) {
            closeQuietly(channel);
            throw e;
        } catch (IOException e) {
            closeQuietly(channel);
            throw new UpstreamException(UpstreamException.Kind.REFUSED, "cannot connect to " + origin + ": "
                    + e.getClass().getSimpleName(), e);
        }
    }

    private Socket handshake(Socket plain, int timeoutMillis) throws UpstreamException {
        try {
            SSLSocket ssl = (SSLSocket) tls.getSocketFactory().createSocket(plain, origin.host(), origin.port(), true);
            SSLParameters parameters = ssl.getSSLParameters();
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            if (!isIpLiteral(origin.host())) {
                parameters.setServerNames(List.of(new SNIHostName(origin.host())));
            }
            parameters.setApplicationProtocols(new String[] {"http/1.1"});
            ssl.setSSLParameters(parameters);
            ssl.setSoTimeout(timeoutMillis);
            ssl.startHandshake();
            ssl.setSoTimeout(0); // reads are timed by their deadlines from here on (Http1Connection.startExchange)
            return ssl;
        } catch (SocketTimeoutException e) {
            throw new UpstreamException(UpstreamException.Kind.CONNECT_TIMEOUT, "no TLS handshake with " + origin
                    + " within the connect timeout", e);
        } catch (SSLException e) {
            throw new UpstreamException(UpstreamException.Kind.TLS, "TLS with " + origin + " failed: "
                    + dev.sidegate.config.Messages.oneLine(e), e);
        } catch (IOException | IllegalArgumentException e) {
            throw new UpstreamException(UpstreamException.Kind.TLS, "TLS with " + origin + " failed: "
                    + e.getClass().getSimpleName(), e);
        }
    }

    private static boolean isIpLiteral(String host) {
        return host.indexOf(':') >= 0 || host.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'));
    }

    /**
     * Closes the connections whose read has waited past its response timeout (see Http1Connection.startExchange).
     *
     * @return whether any other read is still waiting
     */
    boolean closeOverdueReads(long nowNanos) {
        boolean waiting = false;
        for (Http1Connection c : open) {
            waiting |= c.closeIfReadOverdue(nowNanos);
        }
        return waiting;
    }

    /** Whether a read of one of this pool's connections is waiting for the upstream. */
    boolean readsWaiting() {
        for (Http1Connection c : open) {
            if (c.readWaiting()) {
                return true;
            }
        }
        return false;
    }

    /** A read of one of this pool's connections is about to wait. */
    void readStarted() {
        deadlines.readStarted();
    }

    /** Takes a connection back after an exchange; {@code reusable} false closes it. */
    void release(Http1Connection c, boolean reusable) {
        c.endExchange();
        if (!reusable || closed || c.isClosed()) {
            c.close();
            return;
        }
        if (idleCount.incrementAndGet() > maxIdle) {
            idleCount.decrementAndGet();
            c.close();
            return;
        }
        c.idleSince(System.nanoTime());
        idle.offerFirst(c);
        if (closed && idle.remove(c)) {
            idleCount.decrementAndGet();
            c.close();
        }
    }

    /** Called when a connection closes, by whoever closed it. */
    void forget(Http1Connection c) {
        open.remove(c);
    }

    /** Closes idle connections past the idle timeout: the oldest are at the end of the deque. */
    void evictExpired() {
        long now = System.nanoTime();
        Http1Connection c;
        while ((c = idle.peekLast()) != null && (now - c.idleSinceNanos() >= idleTimeoutNanos || c.isClosed())) {
            if (idle.removeLastOccurrence(c)) {
                idleCount.decrementAndGet();
                c.close();
            }
        }
    }

    /** Closes every connection, idle or in use; later requests fail at once. */
    void close() {
        closed = true;
        Http1Connection c;
        while ((c = idle.pollFirst()) != null) {
            idleCount.decrementAndGet();
            c.close();
        }
        for (Http1Connection each : List.copyOf(open)) {
            each.close();
        }
    }

    private static void closeQuietly(SocketChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                // nothing more to do
            }
        }
    }
}
