package dev.sidegate.upstream;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.sidegate.config.Durations;
import dev.sidegate.config.RouteSettings;
import dev.sidegate.config.SidegateConfig;
import dev.sidegate.proxy.AttemptBudget;
import dev.sidegate.proxy.ClientConnections;
import dev.sidegate.proxy.Exchange;
import dev.sidegate.proxy.Headers;
import dev.sidegate.proxy.HopByHop;
import dev.sidegate.proxy.Problem;
import dev.sidegate.proxy.ProxyRequest;
import dev.sidegate.proxy.ProxyResponse;
import dev.sidegate.proxy.Route;
import dev.sidegate.proxy.Stage;
import dev.sidegate.proxy.UpstreamAttempt;
import dev.sidegate.resilience.UpstreamSettings;
import dev.sidegate.telemetry.RequestScope;
import dev.sidegate.telemetry.Telemetry;
import dev.sidegate.telemetry.Tracing;
import io.opentelemetry.api.trace.Span;

/**
 * The end of the pipeline: sends the request to the route's upstream over a pooled keep-alive connection and
 * returns its response with the body still streaming. Failures become problems: no connection 502 (504 for the
 * connect timeout), no response in time 504, an ambiguous or invalid response 502 {@code upstream-bad-response}.
 */
public final class UpstreamCall implements Stage {
    private static final System.Logger LOG = System.getLogger(UpstreamCall.class.getName());

    private final Map<String, Http1Upstream> byUpstream;
    private final Telemetry telemetry;

    /** Resolves every upstream of the configuration to its connection pool once, when the pipeline is built. */
    public UpstreamCall(SidegateConfig config, Upstreams upstreams, Telemetry telemetry) {
        Map<String, Http1Upstream> resolved = new HashMap<>();
        for (UpstreamSettings u : config.upstreams().values()) {
            resolved.put(u.name(), upstreams.http1(u.url(), u.connections()));
        }
        this.byUpstream = Map.copyOf(resolved);
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
        RouteSettings settings = route.settings();
        Http1Upstream upstream = byUpstream.get(settings.upstreamName());
        Duration responseTimeout = exchange.note(AttemptBudget.class).map(AttemptBudget::responseTimeout)
                .filter(budget -> budget.compareTo(settings.timeout()) < 0)
                .orElse(settings.timeout());
        String host = settings.preserveHost() && exchange.client().host() != null
                ? exchange.client().host()
                : upstream.origin().authority();
        Map<String, String> traceHeaders = new HashMap<>(4);
        Span span = exchange.note(RequestScope.class)
                .map(scope -> telemetry.tracing().startClient(scope.span(), request.method(), upstream.origin().host(),
                                                              upstream.origin().port(),
                                                              settings.upstream() + request.path(), traceHeaders::put))
                .orElse(Span.getInvalid());
        Headers headers = request.headers();
        if (!traceHeaders.isEmpty()) {
            // The upstream joins the trace as a child of this attempt's client span.
            Headers.Builder b = headers.toBuilder();
            traceHeaders.forEach(b::set);
            headers = b.build();
        }
        AtomicBoolean bodySent = new AtomicBoolean();
        long start = System.nanoTime();
        try {
            UpstreamResponse response = upstream.send(new UpstreamRequest(request.method(), request.target(), host, headers,
                                                                          request.body()),
                                                      settings.connectTimeout(), responseTimeout, bodySent);
            exchange.note(UpstreamAttempt.class, new UpstreamAttempt.Responded(response.status(), bodySent.get()));
            telemetry.metrics().upstreamCall(settings.upstreamName(), System.nanoTime() - start);
            Tracing.endClient(span, response.status(), null);
            return new ProxyResponse(response.status(), endToEnd(response.headers()), response.body());
        } catch (UpstreamException e) {
            UpstreamAttempt attempt = classify(e, route, responseTimeout, bodySent.get());
            exchange.note(UpstreamAttempt.class, attempt);
            Tracing.endClient(span, null, e.kind().name().toLowerCase(Locale.ROOT));
            return exchange.problem(switch (attempt) {
                case UpstreamAttempt.ConnectFailed f -> f.problem();
                case UpstreamAttempt.TimedOut t -> t.problem();
                case UpstreamAttempt.Failed f -> f.problem();
                case UpstreamAttempt.ClientFailed c -> c.problem();
                case UpstreamAttempt.Responded r -> throw new IllegalStateException("a failure cannot be a response");
            });
        }
    }

    /** The response's end-to-end fields: hop-by-hop ones and those its Connection names are the connection's own. */
    private static Headers endToEnd(Headers upstream) {
        List<String> connection = upstream.all("Connection");
        Set<String> drop = HopByHop.namesToDrop(connection);
        Headers.Builder out = Headers.builder();
        for (int i = 0; i < upstream.size(); i++) {
            String name = upstream.name(i);
            if (!drop.contains(name.toLowerCase(Locale.ROOT))) {
                out.add(name, upstream.value(i));
            }
        }
        return out.build();
    }

    private static UpstreamAttempt classify(UpstreamException e, Route route, Duration responseTimeout, boolean bodySent) {
        String id = route.id();
        return switch (e.kind()) {
            case CLIENT_BODY -> e.getCause() instanceof ClientConnections.BodyTimeoutException timeout
                    ? new UpstreamAttempt.ClientFailed(Problem.of(408, "request-body-timeout", "Request body timeout",
                                                                  timeout.getMessage()), bodySent)
                    : new UpstreamAttempt.ClientFailed(Problem.of(400, "request-body-incomplete", "Request body incomplete",
                                                                  "the client stopped sending the request body"), bodySent);
            case CONNECT_TIMEOUT -> new UpstreamAttempt.ConnectFailed(Problem.of(504, "upstream-connect-timeout", "Upstream connect timeout",
                    "no connection to the upstream of route " + id + " within " + Durations.format(route.settings().connectTimeout())));
            case REFUSED -> new UpstreamAttempt.ConnectFailed(Problem.of(502, "upstream-unreachable", "Upstream unreachable",
                                                                         "cannot connect to the upstream of route " + id));
            case UNRESOLVED -> new UpstreamAttempt.ConnectFailed(Problem.of(502, "upstream-unreachable", "Upstream unreachable",
                                                                            "cannot resolve the upstream host of route " + id));
            case TLS -> {
                LOG.log(System.Logger.Level.WARNING, "upstream of route " + id + ": " + e.getMessage());
                yield new UpstreamAttempt.ConnectFailed(Problem.of(502, "upstream-tls-failed", "Upstream TLS failed",
                        "the TLS handshake with the upstream of route " + id + " failed"));
            }
            case RESPONSE_TIMEOUT -> new UpstreamAttempt.TimedOut(Problem.of(504, "upstream-timeout", "Upstream timeout",
                    "the upstream of route " + id + " did not respond within " + Durations.format(responseTimeout)), bodySent);
            case BAD_RESPONSE -> {
                LOG.log(System.Logger.Level.WARNING, "upstream " + route.settings().upstream() + " of route " + id
                        + " sent an invalid response: " + e.getMessage());
                yield new UpstreamAttempt.Failed(Problem.of(502, "upstream-bad-response", "Bad upstream response",
                        "the upstream of route " + id + " sent an invalid or ambiguous response: " + e.getMessage()), bodySent);
            }
            case BAD_REQUEST -> {
                LOG.log(System.Logger.Level.WARNING, "route " + id + ": the request cannot go upstream: " + e.getMessage());
                yield new UpstreamAttempt.ClientFailed(Problem.of(500, "invalid-upstream-request", "Invalid upstream request",
                        "the request as changed by the pipeline of route " + id + " cannot be sent: " + e.getMessage()), false);
            }
            case CLOSED -> {
                LOG.log(System.Logger.Level.WARNING, "upstream " + route.settings().upstream() + " of route " + id + " failed: "
                        + e.getMessage());
                yield new UpstreamAttempt.Failed(Problem.of(502, "upstream-failed", "Upstream failed",
                        "the upstream of route " + id + " closed the connection or sent an invalid response"), bodySent);
            }
        };
    }
}
