package dev.sidegate.telemetry;

import java.net.InetAddress;
import java.time.Instant;
import java.util.Map;

import dev.sidegate.proxy.Exchange;
import dev.sidegate.proxy.Problem;
import dev.sidegate.proxy.RequestObserver;
import dev.sidegate.proxy.TraceIds;
import dev.sidegate.proxy.UpstreamAttempt;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.context.Scope;

/**
 * Telemetry for one request from arrival to the last byte: its server span (current on the request's thread, so
 * the upstream attempts' spans are its children), its trace id, and at the end one access-log line and the
 * request meters.
 */
final class RequestScope implements RequestObserver.Observation {
    private final Telemetry telemetry;
    private final AccessLogSettings accessLog;
    private final Span span;
    private final Scope current;
    private final String traceId;
    private final long startNanos = System.nanoTime();
    private final Instant start = Instant.now();
    private final String method;
    private final InetAddress peer;
    private final String requestId;

    RequestScope(Telemetry telemetry, AccessLogSettings accessLog, Span span, java.util.function.Function<String, String> header,
                 String method, InetAddress peer, String requestId) {
        this.requestId = requestId;
        this.telemetry = telemetry;
        this.accessLog = accessLog;
        this.span = span;
        this.current = span.makeCurrent();
        this.method = method;
        this.peer = peer;
        SpanContext context = span.getSpanContext();
        this.traceId = context.isValid() ? context.getTraceId() : TraceIds.fromTraceparent(header.apply("traceparent"));
    }

    @Override
    public String traceId() {
        return traceId;
    }

    /**
     * Ends the request: span status and attributes, meters, access log.
     *
     * @param status   the status sent to the client
     * @param path     the normalised path, or the raw path when it was refused
     * @param exchange what the pipeline knew (null when the request never reached it: bad path, no route)
     * @param failure  set when the response could not be completed (the connection was cut)
     * @param problem  the problem Sidegate answered with; null when the answer was the upstream's
     */
    @Override
    public void finish(int status, String path, Exchange exchange, String failure, Problem problem) {
        current.close();
        double durationMs = (System.nanoTime() - startNanos) / 1e6;
        String route = exchange == null ? null : exchange.route().id();
        String clientIp = exchange == null ? peer.getHostAddress() : exchange.client().address().getHostAddress();
        String userId = null;
        String upstream = null;
        Integer upstreamStatus = null;
        Map<String, String> annotations = Map.of();
        if (exchange != null) {
            userId = exchange.identity().map(i -> i.subject()).orElse(null);
            annotations = exchange.annotations();
            if (exchange.attempt().isPresent()) {
                upstream = exchange.route().upstream();
                if (exchange.attempt().get() instanceof UpstreamAttempt.Responded r) {
                    upstreamStatus = r.status();
                }
            }
        }
        if (span.isRecording()) {
            if (route != null) {
                span.updateName(method + " " + route);
                span.setAttribute(Tracing.ROUTE, route);
            }
            span.setAttribute("url.path", path);
            Tracing.status(span, status, true);
            if (failure != null) {
                span.setAttribute(Tracing.ERROR_TYPE, failure);
                span.setStatus(io.opentelemetry.api.trace.StatusCode.ERROR, failure);
            }
            span.setAttribute("client.address", clientIp);
            span.setAttribute("sidegate.request_id", requestId);
            annotations.forEach((k, v) -> span.setAttribute("sidegate." + k, v));
            span.end();
        }
        telemetry.metrics().request(route, method, status, System.nanoTime() - startNanos);
        if (problem != null) {
            telemetry.recentProblems().record(RecentProblems.of(start, method, path, route, problem, traceId, requestId));
        }
        telemetry.accessLog().write(accessLog, new AccessLog.Entry(start, method, path, route, status, durationMs, upstream,
                                                                   upstreamStatus, clientIp, userId, traceId, requestId,
                                                                   annotations.get("rate_limit.decision"),
                                                                   annotations.get("auth.result")));
    }
}
