package dev.sidegate.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;

import dev.sidegate.config.Messages;
import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.DataReader;
import io.helidon.common.concurrency.limits.Limit;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.spi.ServerConnection;

/**
 * A client connection after its WebSocket handshake was switched (101): bytes are relayed both ways as they come,
 * frames untouched (pings, pongs, close codes and reasons, extensions' bits), until either side closes or the tunnel
 * carries nothing either way for its route's idle timeout. When the server stops, a tunnel still open at the drain
 * deadline gets a close frame 1001 (going away) if the relayed bytes end on a frame boundary, then its end.
 */
final class TunnelConnection implements ServerConnection {
    private static final System.Logger LOG = System.getLogger(TunnelConnection.class.getName());
    private static final int BUFFER = 16 * 1024;
    static final int GOING_AWAY = 1001;
    static final int MESSAGE_TOO_BIG = 1009;

    private final ConnectionContext ctx;
    private final UpstreamTunnel tunnel;
    private final Duration idleTimeout;
    private final Runnable onEnd;
    private final FrameBoundary toClient;
    private final FrameBoundary toUpstream;
    private final Object clientWrites = new Object();
    private volatile long lastActivityNanos = System.nanoTime();
    private volatile boolean ended;
    private boolean closeFrameSent;

    /**
     * @param onEnd runs once when the tunnel ends, on the connection's thread (releases its place, finishes its log
     *              line and span)
     */
    TunnelConnection(ConnectionContext ctx, UpstreamTunnel tunnel, Duration idleTimeout, long maxFrame, Runnable onEnd) {
        this.toClient = new FrameBoundary(maxFrame);
        this.toUpstream = new FrameBoundary(maxFrame);
        this.ctx = ctx;
        this.tunnel = tunnel;
        this.idleTimeout = idleTimeout;
        this.onEnd = onEnd;
    }

    @Override
    public void handle(Limit limit) {
        Thread upstreamBound = Thread.ofVirtual().name("sidegate-tunnel-to-upstream").start(this::clientToUpstream);
        try {
            InputStream in = tunnel.fromUpstream();
            byte[] buffer = new byte[BUFFER];
            int n;
            while ((n = in.read(buffer)) >= 0) {
                lastActivityNanos = System.nanoTime();
                synchronized (clientWrites) {
                    boolean atBoundary = toClient.atBoundary();
                    int over = toClient.relayed(buffer, 0, n);
                    if (over >= 0) {
                        if (over > 0) {
                            ctx.dataWriter().writeNow(BufferData.create(buffer, 0, over).copy());
                        }
                        tooBig(over > 0 || atBoundary, "the upstream");
                        return;
                    }
                    ctx.dataWriter().writeNow(BufferData.create(buffer, 0, n).copy());
                }
            }
        } catch (IOException | RuntimeException e) {
            if (Thread.interrupted()) {
                // The drain deadline: Helidon interrupts the connection threads before it closes the connections.
                goingAway();
                Thread.currentThread().interrupt();
            }
            LOG.log(System.Logger.Level.DEBUG, "tunnel from the upstream ended: " + Messages.oneLine(e));
        } finally {
            ended = true;
            tunnel.close();
            upstreamBound.interrupt();
            onEnd.run();
        }
    }

    private void clientToUpstream() {
        try {
            DataReader reader = ctx.dataReader();
            OutputStream out = tunnel.toUpstream();
            while (!ended) {
                BufferData data = reader.readBuffer();
                lastActivityNanos = System.nanoTime();
                byte[] bytes = new byte[data.available()];
                data.read(bytes);
                int over = toUpstream.relayed(bytes, 0, bytes.length);
                if (over >= 0) {
                    out.write(bytes, 0, over);
                    out.flush();
                    synchronized (clientWrites) {
                        tooBig(toClient.atBoundary(), "the client");
                    }
                    return;
                }
                out.write(bytes);
                out.flush();
            }
        } catch (RuntimeException | IOException e) {
            // The client closed, or the tunnel ended from the other side.
            LOG.log(System.Logger.Level.DEBUG, "tunnel from the client ended: " + Messages.oneLine(e));
        } finally {
            tunnel.close(); // ends the other direction too
        }
    }

    /** Helidon closes connections idle longer than the server's idle timeout: a tunnel counts as idle only after its own. */
    @Override
    public Duration idleTime() {
        Duration quiet = Duration.ofNanos(System.nanoTime() - lastActivityNanos);
        return quiet.compareTo(idleTimeout) >= 0 ? Duration.ofDays(365) : Duration.ZERO;
    }

    /**
     * Helidon asks without {@code interrupt} for an idle connection, and for every connection when a drain starts: an
     * active tunnel keeps running then, until the drain deadline, when Helidon asks again with {@code interrupt}.
     */
    @Override
    public void close(boolean interrupt) {
        boolean idle = System.nanoTime() - lastActivityNanos >= idleTimeout.toNanos();
        if (ended || (!interrupt && !idle)) {
            return;
        }
        goingAway();
        tunnel.close();
    }

    /** A frame over {@code server.websocket_max_frame_bytes}: the client gets a close 1009 where it can, and the tunnel ends. */
    private void tooBig(boolean clientAtBoundary, String from) {
        LOG.log(System.Logger.Level.INFO, "WebSocket tunnel closed: a frame from " + from + " is larger than "
                + "server.websocket_max_frame_bytes");
        if (clientAtBoundary && !closeFrameSent) {
            closeFrameSent = true;
            try {
                ctx.dataWriter().writeNow(BufferData.create(FrameBoundary.closeFrame(MESSAGE_TOO_BIG)));
            } catch (RuntimeException e) {
                // the client is gone already
            }
        }
        tunnel.close();
    }

    /** A close frame 1001 to the client, once, where the relayed bytes end on a frame boundary (else none can go). */
    private void goingAway() {
        synchronized (clientWrites) {
            if (!closeFrameSent && toClient.atBoundary()) {
                closeFrameSent = true;
                try {
                    ctx.dataWriter().writeNow(BufferData.create(FrameBoundary.closeFrame(GOING_AWAY)));
                } catch (RuntimeException e) {
                    // the client is gone already
                }
            }
        }
    }
}
