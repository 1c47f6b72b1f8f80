package dev.sidegate.telemetry;

import java.net.URI;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

import dev.sidegate.proxy.Headers;
import dev.sidegate.proxy.ProxyRequest;
import dev.sidegate.proxy.ProxyResponse;
import dev.sidegate.proxy.Stage;
import dev.sidegate.proxy.UpstreamAttempt;
import io.opentelemetry.api.trace.Span;

/**
 * Around each upstream attempt, right before the upstream call: a CLIENT span under the request's server span (the
 * current one on this thread), its context injected into the request ({@code traceparent}, {@code tracestate},
 * {@code baggage}) so the upstream joins the trace, and the time to the response head as a meter.
 */
final class TraceUpstream implements Stage {
    private final Tracing tracing;
    private final SidegateMetrics metrics;
    private final String upstreamName;
    private final URI upstreamUrl;

    TraceUpstream(Tracing tracing, SidegateMetrics metrics, String upstreamName, URI upstreamUrl) {
        this.tracing = tracing;
        this.metrics = metrics;
        this.upstreamName = upstreamName;
        this.upstreamUrl = upstreamUrl;
    }

    @Override
    public String name() {
        return "trace-upstream";
    }

    @Override
    public ProxyResponse apply(ProxyRequest request, Chain chain) {
        Map<String, String> traceHeaders = new HashMap<>(4);
        Span span = tracing.startClient(Span.current(), request.method(), upstreamUrl.getHost(), upstreamUrl.getPort(),
                                        tracing.recording() ? upstreamUrl + request.path() : null, traceHeaders::put);
        ProxyRequest traced = request;
        if (!traceHeaders.isEmpty()) {
            Headers.Builder headers = request.headers().toBuilder();
            traceHeaders.forEach(headers::set);
            traced = request.withHeaders(headers.build());
        }
        long start = System.nanoTime();
        ProxyResponse response = chain.proceed(traced);
        UpstreamAttempt attempt = chain.exchange().attempt().orElse(null);
        if (attempt instanceof UpstreamAttempt.Responded responded) {
            metrics.upstreamCall(upstreamName, System.nanoTime() - start);
            Tracing.endClient(span, responded.status(), null);
        } else {
            Tracing.endClient(span, null, attempt == null ? "no_attempt" : attempt.getClass().getSimpleName().toLowerCase(Locale.ROOT));
        }
        return response;
    }
}
