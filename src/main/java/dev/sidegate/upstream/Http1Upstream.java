package dev.sidegate.upstream;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.sidegate.proxy.ResponseBody;

/**
 * Sends requests to one upstream over its pool of HTTP/1.1 keep-alive connections, one exchange per connection at
 * a time, in plain blocking style (a virtual thread waits on the socket).
 *
 * <p>A pooled connection that turns out to be closed is retried once on a new connection, only when nothing that
 * could have been processed was sent: the request head could not be written at all, or the method is idempotent,
 * the request has no body and the upstream closed without a byte of response (the race with its idle timeout).
 * A request whose body was sent is never retried here.
 */
public final class Http1Upstream {
    private final Origin origin;
    private final java.util.function.Supplier<ConnectionPool> poolOnFirstUse;
    private volatile ConnectionPool pool;

    Http1Upstream(Origin origin, java.util.function.Supplier<ConnectionPool> pool) {
        this.origin = origin;
        this.poolOnFirstUse = pool;
    }

    public Origin origin() {
        return origin;
    }

    private ConnectionPool pool() {
        ConnectionPool p = pool;
        if (p == null) {
            p = poolOnFirstUse.get();
            pool = p;
        }
        return p;
    }

    /**
     * @param bodySent set once any byte of the request body has been read from the client to go upstream
     * @throws UpstreamException when there is no usable final response; its kind says why
     */
    public UpstreamResponse send(UpstreamRequest request, Duration connectTimeout, Duration responseTimeout,
                                 AtomicBoolean bodySent) throws UpstreamException {
        RequestWriter.validate(request.method(), request.target(), request.host(), request.headers());
        ConnectionPool pool = pool();
        boolean head = request.method().equals("HEAD");
        boolean retried = false;
        while (true) {
            Http1Connection conn = retried ? null : pool.pollIdle();
            boolean reused = conn != null;
            if (conn == null) {
                conn = pool.connect(connectTimeout);
            }
            try {
                UpstreamResponse response = exchange(conn, request, head, responseTimeout, bodySent);
                if (response != null) {
                    return response;
                }
                conn.close();
                boolean nothingProcessed = request.idempotent() && request.body().length() == 0;
                if (reused && !retried && nothingProcessed) {
                    retried = true;
                    continue;
                }
                throw new UpstreamException(UpstreamException.Kind.CLOSED, "the upstream closed the connection without a response");
            } catch (HeadNotWritten e) {
                conn.close();
                if (reused && !retried && !bodySent.get()) {
                    retried = true;
                    continue;
                }
                throw new UpstreamException(UpstreamException.Kind.CLOSED, "the connection to the upstream broke before the "
                        + "request was sent", e.getCause());
            } catch (IOException | RuntimeException e) {
                throw broken(conn, e);
            }
        }
    }

    /**
     * Sends a request that asks to switch protocols ({@code Upgrade}) on a new connection of its own, never a pooled
     * one and never pooled afterwards. A 101 returns the connection as a tunnel; any other answer is an ordinary
     * response whose connection closes with its body.
     */
    public UpstreamResponse upgrade(UpstreamRequest request, Duration connectTimeout, Duration responseTimeout)
            throws UpstreamException {
        RequestWriter.validate(request.method(), request.target(), request.host(), request.headers());
        Http1Connection conn = pool().connect(connectTimeout);
        try {
            conn.startExchange(responseTimeout);
            RequestWriter.writeHead(conn, request.method(), request.target(), request.host(), request.headers(),
                                    dev.sidegate.proxy.RequestBody.none(), false);
            conn.flush();
            if (conn.atEndOfStream()) {
                throw new UpstreamException(UpstreamException.Kind.CLOSED, "the upstream closed the connection without a response");
            }
            ResponseHead response = ResponseParser.read(conn, false, true);
            if (response.status() == 101) {
                if (!response.headers().all("Upgrade").stream().anyMatch(v -> v.trim().equalsIgnoreCase(upgradeOf(request)))) {
                    throw UpstreamException.bad("the upstream switched to a protocol that was not asked for");
                }
                conn.endExchange();
                java.io.InputStream in = conn.tunnelInput();
                java.io.OutputStream out = conn.tunnelOutput();
                return new UpstreamResponse(101, response.headers(), dev.sidegate.proxy.ResponseBody.none(),
                                            new dev.sidegate.proxy.UpstreamTunnel() {
                                                @Override
                                                public java.io.InputStream fromUpstream() {
                                                    return in;
                                                }

                                                @Override
                                                public java.io.OutputStream toUpstream() {
                                                    return out;
                                                }

                                                @Override
                                                public void close() {
                                                    conn.close();
                                                }
                                            });
            }
            return withBody(conn, response, false);
        } catch (IOException | RuntimeException e) {
            throw broken(conn, e);
        }
    }

    /** An exchange failed: its connection is done, and the failure is an UpstreamException (as it was, or CLOSED). */
    private static UpstreamException broken(Http1Connection conn, Exception e) {
        conn.close();
        return e instanceof UpstreamException upstream ? upstream
                : new UpstreamException(UpstreamException.Kind.CLOSED, "the connection to the upstream broke: "
                        + e.getClass().getSimpleName(), e);
    }

    private static String upgradeOf(UpstreamRequest request) {
        return request.headers().first("Upgrade").orElse("").trim();
    }

    /** The request head could not be written: the upstream had closed the connection before it could read it. */
    private static final class HeadNotWritten extends IOException {
        HeadNotWritten(IOException cause) {
            super(cause);
        }
    }

    /** One request and its final response on one connection; null when the upstream closed without answering. */
    private UpstreamResponse exchange(Http1Connection conn, UpstreamRequest request, boolean head, Duration responseTimeout,
                                      AtomicBoolean bodySent) throws IOException {
        conn.startExchange(responseTimeout);
        boolean fullySent = true;
        try {
            RequestWriter.writeHead(conn, request.method(), request.target(), request.host(), request.headers(),
                                    request.body(), request.expectsBody());
        } catch (IOException e) {
            throw new HeadNotWritten(e);
        }
        if (request.body().length() != 0) {
            try {
                RequestWriter.writeBody(conn, request.body(), () -> bodySent.set(true));
            } catch (UpstreamException e) {
                throw e;
            } catch (IOException e) {
                // The upstream stopped reading: it may have answered early (413, 401) and closed. Relay that answer.
                fullySent = false;
                bodySent.set(true);
            }
        }
        boolean nothing;
        try {
            nothing = conn.atEndOfStream();
        } catch (UpstreamException e) {
            if (e.kind() != UpstreamException.Kind.CLOSED || !fullySent) {
                throw e;
            }
            nothing = true; // reset before any byte of a response: the same as a close
        }
        if (nothing) {
            if (!fullySent) {
                throw new UpstreamException(UpstreamException.Kind.CLOSED, "the upstream closed the connection while the "
                        + "request body was being sent");
            }
            return null;
        }
        ResponseHead response = ResponseParser.read(conn, head);
        return withBody(conn, response, fullySent && !response.close());
    }

    /** The response with its body still on the connection, framed as its head says; {@code reusable} pools it after. */
    private static UpstreamResponse withBody(Http1Connection conn, ResponseHead response, boolean reusable) throws IOException {
        ResponseBodyInput body = ResponseBodyInput.of(conn, response, reusable);
        if (body instanceof ResponseBodyInput.Chunked chunked) {
            chunked.checkStart();
        }
        long length = switch (response.framing()) {
            case ResponseHead.NoBody n -> 0;
            case ResponseHead.Length l -> l.bytes();
            case ResponseHead.Chunked c -> -1;
            case ResponseHead.UntilClose u -> -1;
        };
        return new UpstreamResponse(response.status(), response.headers(), new ResponseBody(body, length, body::close));
    }
}
