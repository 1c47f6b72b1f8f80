package dev.sidegate.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.time.Duration;
import java.net.UnknownHostException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import io.helidon.common.uri.UriInfo;
import io.helidon.common.uri.UriPath;
import dev.sidegate.config.Durations;
import dev.sidegate.config.Messages;
import dev.sidegate.telemetry.RequestScope;
import dev.sidegate.telemetry.Telemetry;
import dev.sidegate.telemetry.Tracing;
import io.opentelemetry.api.trace.Span;
import io.helidon.http.ClientResponseHeaders;
import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Method;
import io.helidon.webclient.api.ClientUri;
import io.helidon.webclient.api.HttpClientResponse;
import io.helidon.webclient.api.RuntimeUnknownHostException;
import io.helidon.webclient.http1.Http1ClientRequest;

/**
 * The end of the pipeline: sends the request to the route's upstream over a pooled keep-alive connection and
 * returns its response with the body still streaming. Connection failures become 502 problems, timeouts 504.
 */
public final class UpstreamCall implements Stage {
    private static final System.Logger LOG = System.getLogger(UpstreamCall.class.getName());

    private final UpstreamClients clients;
    private final Telemetry telemetry;

    public UpstreamCall(UpstreamClients clients, Telemetry telemetry) {
        this.clients = clients;
        this.telemetry = telemetry;
    }

    @Override
    public String name() {
        return "upstream";
    }

    @Override
    public ProxyResponse apply(ProxyRequest request, Chain chain) {
        Exchange exchange = chain.exchange();
        Route route = exchange.route();
        URI upstream = route.settings().upstream();
        Duration responseTimeout = exchange.note(AttemptBudget.class).map(AttemptBudget::responseTimeout)
                .filter(budget -> budget.compareTo(route.settings().timeout()) < 0)
                .orElse(route.settings().timeout());
        Http1ClientRequest call = clients.client(upstream, route.settings().connectTimeout())
                .method(Method.create(request.method()))
                .uri(target(upstream, request.target()))
                .readTimeout(responseTimeout)
                .followRedirects(false);
        if (!request.headers().contains("User-Agent")) {
            call.property(UpstreamClients.NO_USER_AGENT, "true");
        }
        String host = route.settings().preserveHost() && exchange.client().host() != null
                ? exchange.client().host()
                : authority(upstream);
        Map<String, String> traceHeaders = new HashMap<>(4);
        Span span = exchange.note(RequestScope.class)
                .map(scope -> telemetry.tracing().startClient(scope.span(), request.method(), upstream.getHost(),
                                                              upstream.getPort(), upstream + request.path(), traceHeaders::put))
                .orElse(Span.getInvalid());
        call.headers(h -> {
            h.set(HeaderValues.create(HeaderNames.HOST, host));
            request.headers().forEach((name, value) -> {
                if (!traceHeaders.containsKey(name.toLowerCase(Locale.ROOT))) {
                    h.add(HeaderNames.create(name), value);
                }
            });
            // The upstream joins the trace as a child of this attempt's client span.
            traceHeaders.forEach((name, value) -> h.set(HeaderValues.create(HeaderNames.create(name), value)));
        });
        AtomicBoolean bodySent = new AtomicBoolean();
        long start = System.nanoTime();
        try {
            HttpClientResponse response = request.body().present()
                    ? call.outputStream(out -> sendBody(request.body(), out, bodySent))
                    : call.request();
            if (bodyDroppedByClient(response)) {
                response.close();
                LOG.log(System.Logger.Level.WARNING, "upstream " + upstream + " of route " + route.id()
                        + " sent a " + response.status().code() + " with an Upgrade header and a body; disable h2c"
                        + " upgrade advertising on the upstream");
                Problem problem = Problem.of(502, "upstream-unsupported-response", "Unsupported upstream response",
                                             "the upstream of route " + route.id()
                                                     + " sent an Upgrade header on a response with a body");
                exchange.note(UpstreamAttempt.class, new UpstreamAttempt.Failed(problem, bodySent.get()));
                Tracing.endClient(span, null, "unsupported_response");
                return exchange.problem(problem);
            }
            exchange.note(UpstreamAttempt.class, new UpstreamAttempt.Responded(response.status().code(), bodySent.get()));
            telemetry.metrics().upstreamCall(route.settings().upstreamName(), System.nanoTime() - start);
            Tracing.endClient(span, response.status().code(), null);
            return toProxyResponse(response);
        } catch (RuntimeException e) {
            UpstreamAttempt attempt = classify(e, route, responseTimeout, bodySent.get());
            exchange.note(UpstreamAttempt.class, attempt);
            Tracing.endClient(span, null, attempt.getClass().getSimpleName().toLowerCase(Locale.ROOT));
            return exchange.problem(switch (attempt) {
                case UpstreamAttempt.ConnectFailed f -> f.problem();
                case UpstreamAttempt.TimedOut t -> t.problem();
                case UpstreamAttempt.Failed f -> f.problem();
                case UpstreamAttempt.ClientFailed c -> c.problem();
                case UpstreamAttempt.Responded r -> throw new IllegalStateException("a failure cannot be a response");
            });
        }
    }

    private static void sendBody(RequestBody body, OutputStream out, AtomicBoolean sent) throws IOException {
        InputStream in = body.stream();
        byte[] buffer = new byte[16 * 1024];
        while (true) {
            int n;
            try {
                n = in.read(buffer);
            } catch (IOException | RuntimeException e) {
                throw new ClientBodyException(e); // a broken or abandoned body from the client, not an upstream failure
            }
            if (n < 0) {
                break;
            }
            sent.set(true);
            out.write(buffer, 0, n);
            if (available(in) <= 0) {
                out.flush(); // the client paused: pass on what arrived instead of waiting for a full buffer
            }
        }
        out.close();
    }

    private static int available(InputStream in) {
        try {
            return in.available();
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private static ProxyResponse toProxyResponse(HttpClientResponse response) {
        ClientResponseHeaders upstreamHeaders = response.headers();
        List<String> connection = upstreamHeaders.contains(HeaderNames.CONNECTION)
                ? upstreamHeaders.get(HeaderNames.CONNECTION).allValues()
                : List.of();
        Set<String> drop = HopByHop.namesToDrop(connection);
        Headers.Builder headers = Headers.builder();
        long length = -1;
        for (Header header : upstreamHeaders) {
            String name = header.name();
            if (drop.contains(name.toLowerCase(Locale.ROOT))) {
                continue;
            }
            if (header.headerName().equals(HeaderNames.CONTENT_LENGTH)) {
                length = parseLength(header.get());
            }
            for (String value : header.allValues()) {
                headers.add(name, value);
            }
        }
        InputStream body = response.inputStream();
        return new ProxyResponse(response.status().code(), headers.build(), new ResponseBody(body, length, response::close));
    }

    /**
     * Helidon's client reads no body from a non-101 response that carries an {@code Upgrade} header and a
     * Content-Length (Apache httpd advertising h2c sends such responses). Relaying it would silently empty the body.
     */
    private static boolean bodyDroppedByClient(HttpClientResponse response) {
        ClientResponseHeaders h = response.headers();
        return response.status().code() != 101
                && h.contains(HeaderNames.UPGRADE)
                && !h.containsToken(HeaderValues.TRANSFER_ENCODING_CHUNKED)
                && h.contentLength().orElse(0) > 0;
    }

    private static long parseLength(String value) {
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * The request line target goes out byte for byte as normalised: Helidon's URI builder would re-encode the path
     * and rebuild the query from a hash map (reordering parameters and adding '=' to bare names), so the whole
     * target is handed over as one raw path, which Helidon writes unchanged.
     */
    private static ClientUri target(URI upstream, String target) {
        return ClientUri.create(UriInfo.builder()
                                        .scheme(upstream.getScheme())
                                        .host(upstream.getHost().startsWith("[")
                                                      ? upstream.getHost().substring(1, upstream.getHost().length() - 1)
                                                      : upstream.getHost())
                                        .port(upstream.getPort())
                                        .path(UriPath.create(target))
                                        .build());
    }

    private static String authority(URI upstream) {
        boolean defaultPort = (upstream.getScheme().equals("http") && upstream.getPort() == 80)
                || (upstream.getScheme().equals("https") && upstream.getPort() == 443);
        return defaultPort ? upstream.getHost() : upstream.getHost() + ":" + upstream.getPort();
    }

    private static UpstreamAttempt classify(RuntimeException e, Route route, Duration responseTimeout, boolean bodySent) {
        String upstream = route.settings().upstream().toString();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ClientBodyException) {
                return new UpstreamAttempt.ClientFailed(Problem.of(400, "request-body-incomplete", "Request body incomplete",
                                                                   "the client stopped sending the request body"), bodySent);
            }
            if (t instanceof SocketTimeoutException ste) {
                String message = ste.getMessage() == null ? "" : ste.getMessage().toLowerCase(Locale.ROOT);
                if (message.contains("connect")) {
                    return new UpstreamAttempt.ConnectFailed(Problem.of(504, "upstream-connect-timeout", "Upstream connect timeout",
                            "no connection to the upstream of route " + route.id() + " within "
                                    + Durations.format(route.settings().connectTimeout())));
                }
                return new UpstreamAttempt.TimedOut(Problem.of(504, "upstream-timeout", "Upstream timeout",
                        "the upstream of route " + route.id() + " did not respond within " + Durations.format(responseTimeout)),
                                                    bodySent);
            }
            if (t instanceof ConnectException || t instanceof NoRouteToHostException) {
                return new UpstreamAttempt.ConnectFailed(Problem.of(502, "upstream-unreachable", "Upstream unreachable",
                                                                    "cannot connect to the upstream of route " + route.id()));
            }
            if (t instanceof UnknownHostException || t instanceof RuntimeUnknownHostException) {
                return new UpstreamAttempt.ConnectFailed(Problem.of(502, "upstream-unreachable", "Upstream unreachable",
                                                                    "cannot resolve the upstream host of route " + route.id()));
            }
        }
        LOG.log(System.Logger.Level.WARNING, "upstream " + upstream + " of route " + route.id() + " failed: "
                + Messages.oneLine(e));
        return new UpstreamAttempt.Failed(Problem.of(502, "upstream-failed", "Upstream failed",
                "the upstream of route " + route.id() + " closed the connection or sent an invalid response"), bodySent);
    }
}
