package dev.sidegate.upstream;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.sidegate.config.Durations;
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

/**
 * The end of one route's pipeline: sends the request to the route's upstream over a pooled keep-alive connection and
 * returns its response with the body still streaming. Failures become problems: no connection 502 (504 for the
 * connect timeout), no response in time 504, an ambiguous or invalid response 502 {@code upstream-bad-response}.
 * Every attempt's outcome is left on the exchange for the breaker, retries, transforms and telemetry.
 */
public final class UpstreamCall implements Stage {
    private static final System.Logger LOG = System.getLogger(UpstreamCall.class.getName());

    private final Http1Upstream upstream;
    private final Settings settings;

    /**
     * A route's view of its upstream.
     *
     * @param url            the upstream's base URL, for logs
     * @param timeout        the wait for the response head, and between two reads of the body
     * @param connectTimeout the wait for a connection (and TLS)
     * @param preserveHost   send the client's Host instead of the upstream's authority
     */
    public record Settings(java.net.URI url, Duration timeout, Duration connectTimeout, boolean preserveHost) {
    }

    /** @param upstream the upstream's connection pool, resolved when the pipeline is built */
    public UpstreamCall(Http1Upstream upstream, Settings settings) {
        this.upstream = upstream;
        this.settings = settings;
    }

    @Override
    public String name() {
        return "upstream";
    }

    @Override
    public ProxyResponse apply(ProxyRequest request, Chain chain) {
        Exchange exchange = chain.exchange();
        Route route = exchange.route();
        Duration responseTimeout = chain.responseTimeout()
                .filter(budget -> budget.compareTo(settings.timeout()) < 0)
                .orElse(settings.timeout());
        String host = settings.preserveHost() && exchange.client().host() != null
                ? exchange.client().host()
                : upstream.origin().authority();
        AtomicBoolean bodySent = new AtomicBoolean();
        try {
            if (exchange.upgrade().isPresent()) {
                return upgrade(request, exchange, host, responseTimeout);
            }
            UpstreamResponse response = upstream.send(new UpstreamRequest(request.method(), request.target(), host,
                                                                          request.headers(), request.body()),
                                                      settings.connectTimeout(), responseTimeout, bodySent);
            exchange.attempt(new UpstreamAttempt.Responded(response.status(), bodySent.get()));
            return new ProxyResponse(response.status(), endToEnd(response.headers()), response.body());
        } catch (UpstreamException e) {
            UpstreamAttempt attempt = classify(e, route, responseTimeout, bodySent.get());
            exchange.attempt(attempt);
            return exchange.problem(switch (attempt) {
                case UpstreamAttempt.ConnectFailed f -> f.problem();
                case UpstreamAttempt.TimedOut t -> t.problem();
                case UpstreamAttempt.Failed f -> f.problem();
                case UpstreamAttempt.ClientFailed c -> c.problem();
                case UpstreamAttempt.Responded r -> throw new IllegalStateException("a failure cannot be a response");
            });
        }
    }

    /** A handshake that asks to switch protocols: on a connection of its own, which a 101 turns into the tunnel. */
    private ProxyResponse upgrade(ProxyRequest request, Exchange exchange, String host, Duration responseTimeout)
            throws UpstreamException {
        Headers headers = request.headers().toBuilder()
                .set("Connection", "Upgrade")
                .set("Upgrade", exchange.upgrade().orElseThrow())
                .build();
        UpstreamResponse response = upstream.upgrade(new UpstreamRequest(request.method(), request.target(), host, headers,
                                                                         request.body()),
                                                     settings.connectTimeout(), responseTimeout);
        exchange.attempt(new UpstreamAttempt.Responded(response.status(), false));
        if (response.tunnel() != null) {
            exchange.tunnel(response.tunnel());
        }
        return new ProxyResponse(response.status(), endToEnd(response.headers()), response.body());
    }

    /** The response's end-to-end fields: hop-by-hop ones and those its Connection names are the connection's own. */
    private static Headers endToEnd(Headers upstream) {
        Set<String> named = HopByHop.namedByConnection(upstream.all("Connection"));
        Headers.Builder out = Headers.builder();
        for (int i = 0; i < upstream.size(); i++) {
            String name = upstream.name(i);
            // The fixed names are matched without lower-casing: most responses name nothing else.
            if (!HopByHop.isFixed(name) && (named.isEmpty() || !named.contains(name.toLowerCase(Locale.ROOT)))) {
                out.add(name, upstream.value(i));
            }
        }
        return out.build();
    }

    private UpstreamAttempt classify(UpstreamException e, Route route, Duration responseTimeout, boolean bodySent) {
        String id = route.id();
        return switch (e.kind()) {
            case CLIENT_BODY -> e.getCause() instanceof ClientConnections.BodyTimeoutException timeout
                    ? new UpstreamAttempt.ClientFailed(Problem.of(408, "request-body-timeout", "Request body timeout",
                                                                  timeout.getMessage()), bodySent)
                    : new UpstreamAttempt.ClientFailed(Problem.of(400, "request-body-incomplete", "Request body incomplete",
                                                                  "the client stopped sending the request body"), bodySent);
            case CONNECT_TIMEOUT -> new UpstreamAttempt.ConnectFailed(Problem.of(504, "upstream-connect-timeout", "Upstream connect timeout",
                    "no connection to the upstream of route " + id + " within " + Durations.format(settings.connectTimeout())));
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
                LOG.log(System.Logger.Level.WARNING, "upstream " + settings.url() + " of route " + id
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
                LOG.log(System.Logger.Level.WARNING, "upstream " + settings.url() + " of route " + id + " failed: "
                        + e.getMessage());
                yield new UpstreamAttempt.Failed(Problem.of(502, "upstream-failed", "Upstream failed",
                        "the upstream of route " + id + " closed the connection or sent an invalid response"), bodySent);
            }
        };
    }
}
