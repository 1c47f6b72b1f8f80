package dev.sidegate.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

import dev.sidegate.config.Messages;
import io.helidon.http.Header;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.common.buffers.BufferData;
import io.helidon.http.HeaderValues;
import io.helidon.http.HttpPrologue;
import io.helidon.http.WritableHeaders;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.spi.ServerConnection;
import io.helidon.http.ServerRequestHeaders;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * Where Helidon hands a client request to Sidegate: normalises the path, matches the route, builds the
 * {@link Exchange} and the forwardable {@link ProxyRequest}, runs the current {@link Pipeline}, and streams the
 * response back, flushing as the upstream delivers (so Server-Sent Events arrive as they are sent).
 */
public final class ProxyHandler implements Handler {
    private static final System.Logger LOG = System.getLogger(ProxyHandler.class.getName());
    private static final HeaderName ACCESS_CONTROL_REQUEST_METHOD = HeaderNames.create("Access-Control-Request-Method");
    private static final int BUFFER_SIZE = 16 * 1024;
    private static final int WHOLE_BODY_LIMIT = 16 * 1024;
    /** Every response names its trace, so a client can quote it when reporting a problem. */
    static final io.helidon.http.HeaderName TRACE_ID_HEADER = HeaderNames.create("X-Trace-Id");
    /** Set on a connection's thread (Helidon runs one per connection) once a request on it asked to close. */
    private static final ThreadLocal<Boolean> CLOSE_REQUESTED = new ThreadLocal<>();

    private final Supplier<Pipeline> pipeline;
    private final PathNormalizer normalizer;
    private final Forwarding forwarding;
    private final RequestIds requestIds;
    private final ClientConnections connections;
    private final boolean keepAliveAfterChunked;
    private final Tunnels tunnels;

    public ProxyHandler(Supplier<Pipeline> pipeline, PathNormalizer normalizer, Forwarding forwarding, RequestIds requestIds,
                        ClientConnections connections, boolean keepAliveAfterChunked, Tunnels tunnels) {
        this.tunnels = tunnels;
        this.pipeline = pipeline;
        this.normalizer = normalizer;
        this.forwarding = forwarding;
        this.requestIds = requestIds;
        this.connections = connections;
        this.keepAliveAfterChunked = keepAliveAfterChunked;
    }

    @Override
    public void handle(ServerRequest req, ServerResponse res) {
        if (CLOSE_REQUESTED.get() != null) {
            throw new CloseConnectionException("the client asked to close this connection after its previous request");
        }
        Pipeline current = pipeline.get();
        ServerRequestHeaders in = req.headers();
        String method = req.prologue().method().text();
        InetAddress peer = ((InetSocketAddress) req.remotePeer().address()).getAddress();
        String requestId = requestIds.resolve(peer, in.first(requestIds.header()).orElse(null));
        RequestObserver.Observation scope = current.observer().begin(method, peer, requestId,
                                                                     name -> in.first(HeaderNames.create(name)).orElse(null));
        Outcome outcome = new Outcome(req.prologue().uriPath().rawPath());
        try {
            handle(req, res, current, method, peer, requestId, scope, outcome);
        } catch (CloseConnectionException e) {
            outcome.failure = e.getMessage();
            throw e;
        } catch (RuntimeException e) {
            outcome.status = 500;
            outcome.failure = e.getClass().getSimpleName();
            throw e;
        } finally {
            scope.finish(outcome.status, outcome.path, outcome.exchange, outcome.failure, outcome.problem);
        }
    }

    /**
     * A WebSocket handshake (RFC 6455 4.1) on a route with {@code websocket: true}: it runs the route's pipeline like
     * any request (identity headers, JWT, rate limit, breaker, the upstream on a connection of its own), and only the
     * upstream's 101 opens the tunnel. Any other answer, the app's or Sidegate's, goes to the client as it is, and the
     * connection closes after it.
     *
     * @return the tunnel, or the closed connection after a refusal; null when this is not a handshake Sidegate takes
     *         (not a GET, no {@code Connection: upgrade}, a path no WebSocket route covers): Helidon then routes the
     *         request as an ordinary one, and the upgrade headers, being hop-by-hop, go no further
     */
    public ServerConnection upgrade(ConnectionContext ctx, HttpPrologue prologue, WritableHeaders<?> headers) {
        if (!prologue.method().text().equals("GET") || !prologue.protocolVersion().equals("1.1")) {
            return null;
        }
        ServerRequestHeaders in = ServerRequestHeaders.create(headers);
        if (!in.contains(HeaderNames.CONNECTION) || in.get(HeaderNames.CONNECTION).allValues(true).stream()
                .noneMatch(t -> t.equalsIgnoreCase("upgrade"))) {
            return null;
        }
        Pipeline current = pipeline.get();
        String rawPath = prologue.uriPath().rawPath();
        if (!(normalizer.normalize(rawPath) instanceof PathNormalizer.Normalized normalized)
                || !(current.routes().match("GET", normalized.path()) instanceof RouteTable.Matched matched)
                || matched.route().websocketIdleTimeout().isEmpty()) {
            return null;
        }
        Route route = matched.route();
        String path = normalized.path();
        InetAddress peer = ((InetSocketAddress) ctx.remotePeer().address()).getAddress();
        String requestId = requestIds.resolve(peer, in.first(requestIds.header()).orElse(null));
        RequestObserver.Observation scope = current.observer().begin("GET", peer, requestId,
                                                                     name -> in.first(HeaderNames.create(name)).orElse(null));
        Outcome outcome = new Outcome(rawPath);
        outcome.path = path;
        boolean tunnelOpen = false;
        Runnable place = null;
        try {
            String traceId = scope.traceId();
            Exchange.Client client = client(in, peer, ctx.isSecure());
            Exchange exchange = new Exchange(route, client, traceId, requestId);
            outcome.exchange = exchange;
            exchange.upgradeRequested("websocket");
            ProxyResponse response;
            Optional<Runnable> permit = tunnels.tryOpen();
            if (permit.isEmpty()) {
                response = exchange.problem(Problem.of(503, "tunnel-limit", "Too many tunnels", "this Sidegate has "
                        + tunnels.max() + " WebSocket tunnels open, its limit (server.max_tunnels)").withHeader("Retry-After", "1"));
            } else {
                place = permit.get();
                ProxyRequest request = new ProxyRequest("GET", path, prologue.query().rawValue(),
                                                        forwardableHeaders(in, client, requestId), RequestBody.none());
                response = run(current, exchange, request);
            }
            outcome.status = response.status();
            outcome.problem = response.problem();
            if (response.status() == 101 && exchange.tunnel().isPresent()) {
                response.body().close();
                UpstreamTunnel tunnel = exchange.tunnel().get();
                writeHead(ctx, 101, "Switching Protocols", response.headers(), traceId, requestId,
                          Headers.builder().add("Upgrade", "websocket").add("Connection", "Upgrade").build());
                Runnable release = place;
                tunnelOpen = true;
                return new TunnelConnection(ctx, tunnel, route.websocketIdleTimeout().get(), tunnels.maxFrameBytes(), () -> {
                    release.run();
                    scope.finish(101, path, exchange, null, null);
                });
            }
            exchange.tunnel().ifPresent(UpstreamTunnel::close);
            writeRefusal(ctx, response, traceId, requestId, exchange.answerHeaders());
            return CLOSED_AFTER_ANSWER;
        } catch (RuntimeException e) {
            outcome.status = 500;
            outcome.failure = e.getClass().getSimpleName();
            if (outcome.exchange != null) {
                outcome.exchange.tunnel().ifPresent(UpstreamTunnel::close); // the client went before its 101 was out
            }
            throw e;
        } finally {
            if (!tunnelOpen) {
                if (place != null) {
                    place.run();
                }
                scope.finish(outcome.status, outcome.path, outcome.exchange, outcome.failure, outcome.problem);
            }
        }
    }

    /** A connection that ends at once: Helidon closes the socket after the refusal was written. */
    private static final ServerConnection CLOSED_AFTER_ANSWER = new ServerConnection() {
        @Override
        public void handle(io.helidon.common.concurrency.limits.Limit limit) {
        }

        @Override
        public java.time.Duration idleTime() {
            return java.time.Duration.ZERO;
        }

        @Override
        public void close(boolean interrupt) {
        }
    };

    /** Writes a response head straight to the connection (there is no Helidon response after a handshake). */
    private void writeHead(ConnectionContext ctx, int status, String reason, Headers headers, String traceId, String requestId,
                           Headers first) {
        StringBuilder head = new StringBuilder(256).append("HTTP/1.1 ").append(status).append(' ').append(reason).append("\r\n");
        first.forEach((name, value) -> head.append(name).append(": ").append(value).append("\r\n"));
        String requestIdName = requestIds.header().defaultCase();
        headers.forEach((name, value) -> {
            if (!name.equalsIgnoreCase(requestIdName) && !name.equalsIgnoreCase(TRACE_ID_HEADER.defaultCase())) {
                head.append(name).append(": ").append(value).append("\r\n");
            }
        });
        head.append(TRACE_ID_HEADER.defaultCase()).append(": ").append(traceId).append("\r\n");
        head.append(requestIdName).append(": ").append(requestId).append("\r\n\r\n");
        ctx.dataWriter().writeNow(BufferData.create(head.toString().getBytes(java.nio.charset.StandardCharsets.ISO_8859_1)));
    }

    /**
     * The app's or Sidegate's answer to a handshake that did not switch: relayed as it is, its body with its length
     * when known and else until the connection closes, which it does after this answer.
     */
    private void writeRefusal(ConnectionContext ctx, ProxyResponse response, String traceId, String requestId, Headers extra) {
        try (ResponseBody body = response.body()) {
            int status = response.status();
            boolean noContent = status == 204 || status == 304;
            Headers.Builder first = Headers.builder().add("Connection", "close");
            extra.forEach(first::add);
            Headers.Builder rest = Headers.builder();
            response.headers().forEach((name, value) -> {
                if (!name.equalsIgnoreCase("Content-Length") && !extra.contains(name)) {
                    rest.add(name, value);
                }
            });
            if (!noContent && body.length() >= 0) {
                rest.add("Content-Length", Long.toString(body.length()));
            }
            writeHead(ctx, status, Statuses.of(status).reasonPhrase(), rest.build(), traceId, requestId, first.build());
            if (noContent) {
                return;
            }
            byte[] buffer = new byte[BUFFER_SIZE];
            int n;
            while ((n = body.stream().read(buffer)) >= 0) {
                ctx.dataWriter().writeNow(BufferData.create(buffer, 0, n).copy());
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "the answer to a refused handshake could not be written: " + Messages.oneLine(e));
        }
    }


    /** What the access log and the span need to know about how a request ended. */
    private static final class Outcome {
        private String path;
        private int status = 500;
        private Exchange exchange;
        private String failure;
        private Problem problem;

        Outcome(String rawPath) {
            this.path = rawPath;
        }
    }

    private void handle(ServerRequest req, ServerResponse res, Pipeline current, String method, InetAddress peer,
                        String requestId, RequestObserver.Observation scope, Outcome outcome) {
        ServerRequestHeaders in = req.headers();
        String traceId = scope.traceId();
        res.header(TRACE_ID_HEADER, traceId);
        res.header(requestIds.header(), requestId);
        // contains() first: Helidon's containsToken tokenizes through streams even when the field is absent
        if (in.contains(HeaderNames.CONNECTION) && in.containsToken(HeaderValues.CONNECTION_CLOSE)) {
            closeAfter(res); // RFC 9112 9.6: no further request may be processed on this connection
        } else if (!keepAliveAfterChunked && in.contains(HeaderNames.TRANSFER_ENCODING)) {
            // Helidon 4.5 skips the two bytes after a chunk's data without checking they are CRLF; where a front
            // proxy reads that body differently, ending the connection leaves nothing behind it to smuggle.
            closeAfter(res);
        }
        boolean head = method.equals("HEAD");

        String path;
        switch (normalizer.normalize(req.prologue().uriPath().rawPath())) {
            case PathNormalizer.Rejected r -> {
                outcome.status = write(res, Problem.of(400, "bad-path", "Bad request path", r.reason()).toResponse(traceId, requestId),
                                       head, traceId, null, Headers.empty(), outcome);
                return;
            }
            case PathNormalizer.Normalized n -> path = n.path();
        }
        outcome.path = path;

        Route route;
        switch (match(current.routes(), method, path, in)) {
            case RouteTable.NotFound nf -> {
                outcome.status = write(res, Problem.of(404, "no-route", "No route", "no route matches " + path)
                        .toResponse(traceId, requestId), head, traceId, null, Headers.empty(), outcome);
                return;
            }
            case RouteTable.MethodNotAllowed mna -> {
                Problem problem = Problem.of(405, "method-not-allowed", "Method not allowed",
                                             method + " is not allowed on " + path)
                        .withHeader("Allow", String.join(", ", mna.allowed()));
                outcome.status = write(res, problem.toResponse(traceId, requestId), head, traceId, null, Headers.empty(), outcome);
                return;
            }
            case RouteTable.Matched m -> route = m.route();
        }

        Exchange.Client client = client(in, peer, req.isSecure());
        Exchange exchange = new Exchange(route, client, traceId, requestId);
        outcome.exchange = exchange;

        ProxyRequest request = new ProxyRequest(method, path, req.prologue().query().rawValue(),
                                                forwardableHeaders(in, client, requestId), body(req, traceId, requestId));
        ProxyResponse response = run(current, exchange, request);
        if (connections.bodyTimedOut()) {
            // The 408 went out while the body read was waiting; the connection is done.
            response.body().close();
            outcome.status = 408;
            connections.closeCurrent();
            throw new CloseConnectionException("the request body timed out");
        }
        if (req.content().hasEntity() && !req.content().consumed()) {
            // The pipeline answered without reading the whole body (a rejection): rather than have Helidon drain a
            // body that may never come, this connection ends with the response.
            closeAfter(res);
        }
        outcome.status = response.status();
        outcome.status = write(res, response, head, traceId, route.id(), exchange.answerHeaders(), outcome);
    }

    /** Who sent the request: the peer, and the client address the trusted forwarding headers name. */
    private Exchange.Client client(ServerRequestHeaders in, InetAddress peer, boolean secure) {
        List<String> forwardedFor = in.contains(HeaderNames.X_FORWARDED_FOR)
                ? in.get(HeaderNames.X_FORWARDED_FOR).allValues()
                : List.of();
        return new Exchange.Client(peer, forwarding.clientAddress(peer, forwardedFor), secure,
                                   in.first(HeaderNames.HOST).orElse(null));
    }

    /** The pipeline's answer; a stage that failed with a problem answers with that problem. */
    private static ProxyResponse run(Pipeline current, Exchange exchange, ProxyRequest request) {
        try {
            return current.run(exchange, request);
        } catch (Pipeline.StageFailure failure) {
            return exchange.problem(failure.problem());
        }
    }

    /**
     * A CORS preflight is matched by the method it asks about, so that it finds the route the real request would
     * take; only a route that answers preflights itself takes it. Any other OPTIONS is matched as OPTIONS.
     */
    private static RouteTable.Match match(RouteTable routes, String method, String path, ServerRequestHeaders in) {
        if (method.equals("OPTIONS") && in.contains(HeaderNames.ORIGIN) && in.contains(ACCESS_CONTROL_REQUEST_METHOD)) {
            String asked = in.get(ACCESS_CONTROL_REQUEST_METHOD).get().trim();
            Optional<Route> route = routes.matchPreflight(asked, path);
            if (route.isPresent()) {
                return new RouteTable.Matched(route.get());
            }
        }
        return routes.match(method, path);
    }

    private Headers forwardableHeaders(ServerRequestHeaders in, Exchange.Client client, String requestId) {
        List<String> connection = in.contains(HeaderNames.CONNECTION) ? in.get(HeaderNames.CONNECTION).allValues() : List.of();
        Set<String> drop = HopByHop.namesToDrop(connection);
        Headers.Builder out = Headers.builder();
        List<String> originalForwardedFor = new ArrayList<>(1);
        for (Header header : in) {
            String name = header.name();
            String lower = name.toLowerCase(Locale.ROOT);
            if (drop.contains(lower) || lower.equals("host") || lower.equals("expect")) {
                continue; // Host is set per upstream; Expect: 100-continue was answered by Sidegate itself
            }
            if (lower.equals(requestIds.header().lowerCase())) {
                continue; // replaced below by the id Sidegate resolved
            }
            if (lower.indexOf('_') >= 0 && Forwarding.FORWARDING_HEADERS.contains(Headers.normalName(lower))) {
                continue; // X_Forwarded_For is X-Forwarded-For to a CGI-style upstream: never a client's to set
            }
            for (String value : header.allValues()) {
                out.add(name, value);
                if (lower.equals("x-forwarded-for")) {
                    originalForwardedFor.add(value);
                }
            }
        }
        forwarding.apply(originalForwardedFor, out, client);
        out.set(requestIds.header().defaultCase(), requestId);
        return out.build();
    }

    private RequestBody body(ServerRequest req, String traceId, String requestId) {
        if (!req.content().hasEntity()) {
            return RequestBody.none();
        }
        long length = req.headers().contentLength().orElse(-1);
        return new RequestBody(connections.guard(req.content().inputStream(), traceId, requestId), length);
    }

    /** Ends the client connection once this response is out, and refuses a request pipelined behind it. */
    private void closeAfter(ServerResponse res) {
        res.header(HeaderValues.CONNECTION_CLOSE);
        res.whenSent(() -> {
            CLOSE_REQUESTED.set(Boolean.TRUE);
            connections.closeCurrent();
        });
    }

    /** Writes the response; returns the status the client got. */
    private int write(ServerResponse res, ProxyResponse response, boolean head, String traceId, String routeId, Headers extra, Outcome outcome) {
        try (ResponseBody body = response.body()) {
            int status = response.status();
            boolean noContent = status == 204 || status == 205 || status == 304 || status < 200;
            res.status(Statuses.of(status));
            String requestIdName = requestIds.header().defaultCase();
            response.headers().forEach((name, value) -> {
                // Helidon frames bodiless responses itself and refuses a non-zero Content-Length on them. The request
                // id is already set: an upstream that echoes it must not make it two values.
                if (!(noContent && name.equalsIgnoreCase("Content-Length")) && !name.equalsIgnoreCase(requestIdName)) {
                    res.headers().add(HeaderValues.create(HeaderNames.create(name), value));
                }
            });
            addAnswerHeaders(res, extra);
            outcome.problem = response.problem();
            if (head || noContent) {
                res.send();
                return status;
            }
            if (body.length() >= 0) {
                res.headers().set(HeaderValues.create(HeaderNames.CONTENT_LENGTH, body.length()));
            }
            if (body.length() == 0) {
                res.send();
                return status;
            }
            if (body.length() > 0 && body.length() <= WHOLE_BODY_LIMIT) {
                return sendWhole(body.stream(), (int) body.length(), res, status, traceId, routeId, extra, outcome);
            }
            return stream(body.stream(), res, status, traceId, routeId, extra, outcome);
        }
    }

    /**
     * Headers a stage asked for on every answer to its request (CORS), whoever made the answer; a {@code Vary} adds
     * its names to the upstream's.
     */
    private static void addAnswerHeaders(ServerResponse res, Headers extra) {
        for (int i = 0; i < extra.size(); i++) {
            String name = extra.name(i);
            String value = extra.value(i);
            if (name.equalsIgnoreCase("Vary")) {
                Optional<String> vary = res.headers().first(HeaderNames.VARY);
                if (vary.isPresent()) {
                    value = Headers.mergeTokens(vary.get(), value);
                }
                res.headers().set(HeaderValues.create(HeaderNames.VARY, value));
            } else {
                res.headers().set(HeaderValues.create(HeaderNames.create(name), value));
            }
        }
    }

    /**
     * A small body of known length is read whole and sent with the head in one write: no stream, no copy buffer
     * larger than the body (most API answers are a few KiB). Nothing is sent before the body is complete, so a
     * failing upstream still gets its problem answer.
     */
    private int sendWhole(InputStream from, int length, ServerResponse res, int status, String traceId, String routeId, Headers extra, Outcome outcome) {
        byte[] entity = new byte[length];
        int filled = 0;
        try {
            while (filled < length) {
                int n = from.read(entity, filled, length - filled);
                if (n < 0) {
                    throw new java.io.EOFException("the upstream body ended " + (length - filled) + " bytes early");
                }
                filled += n;
            }
        } catch (IOException | RuntimeException e) {
            return bodyFailed(e, false, res, traceId, routeId, extra, outcome);
        }
        try {
            connections.whileSending(() -> res.send(entity));
        } catch (RuntimeException e) { // Helidon's write failures are unchecked; the send timeout closes the socket

            throw new CloseConnectionException("client went away", e);
        }
        return status;
    }

    /**
     * Copies the body to the client, flushing whenever the upstream pauses. Helidon sends the status and headers
     * with the first body bytes, so a body that fails before its first byte is still answered with a problem.
     */
    private int stream(InputStream from, ServerResponse res, int status, String traceId, String routeId, Headers extra, Outcome outcome) {
        byte[] buffer = new byte[BUFFER_SIZE];
        OutputStream to = connections.guard(res.outputStream());
        boolean written = false;
        while (true) {
            int n;
            try {
                n = from.read(buffer);
            } catch (IOException | RuntimeException e) {
                return bodyFailed(e, written, res, traceId, routeId, extra, outcome);
            }
            if (n < 0) {
                break;
            }
            try {
                to.write(buffer, 0, n);
                written = true;
                if (available(from) <= 0) {
                    to.flush(); // nothing more buffered upstream: send what we have (SSE, slow streams)
                }
            } catch (IOException | UncheckedIOException e) {
                throw new CloseConnectionException("client went away", e);
            }
        }
        try {
            to.close();
        } catch (IOException | UncheckedIOException e) {
            throw new CloseConnectionException("client went away", e);
        }
        return status;
    }

    /** The upstream body failed: a problem answer while nothing is sent yet, else the client connection is cut. */
    private int bodyFailed(Exception e, boolean written, ServerResponse res, String traceId, String routeId, Headers extra, Outcome outcome) {
        String requestId = res.headers().first(requestIds.header()).orElse(null); // the reset below clears it
        if (!written && e instanceof BodyFailure failure && res instanceof io.helidon.webserver.http.RoutingResponse routing
                && routing.reset()) {
            LOG.log(System.Logger.Level.WARNING, "upstream body of route " + routeId + " failed before the response "
                    + "started (trace " + traceId + "): " + Messages.oneLine(e));
            res.header(TRACE_ID_HEADER, traceId);
            if (requestId != null) {
                res.header(requestIds.header(), requestId);
            }
            return write(res, failure.problem(routeId).toResponse(traceId, requestId), false, traceId, routeId, extra, outcome);
        }
        // Headers are already sent (or the failure is not the upstream's): cutting the connection is the only way
        // to tell the client.
        LOG.log(System.Logger.Level.WARNING, "upstream body failed after the response started: " + Messages.oneLine(e));
        throw new CloseConnectionException("upstream body failed", e);
    }

    private static int available(InputStream in) {
        try {
            return in.available();
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
