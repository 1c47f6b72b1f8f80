package dev.sidegate.telemetry;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiConsumer;

import dev.sidegate.proxy.TraceIds;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;

/**
 * OpenTelemetry tracing, configured by the standard {@code OTEL_*} environment variables through the SDK's
 * autoconfigure. W3C {@code traceparent} and {@code tracestate} are extracted from clients and injected into
 * upstream requests.
 *
 * <p>Without an exporter or endpoint (or with {@code OTEL_SDK_DISABLED=true}) and with the default W3C propagators,
 * no SDK is built at all: each request still gets a trace id (the client's, or a fresh one) and each upstream attempt
 * a span id of its own that is propagated with the client's sampling flag, but nothing is recorded. Recording spans
 * that nothing exports cost about a tenth of a proxied request's CPU (loadtest/ANALYSIS.md).
 */
public final class Tracing implements AutoCloseable {
    static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
    static final AttributeKey<String> ROUTE = AttributeKey.stringKey("http.route");
    static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
    static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
    static final AttributeKey<String> SERVER_ADDRESS = AttributeKey.stringKey("server.address");
    static final AttributeKey<Long> SERVER_PORT = AttributeKey.longKey("server.port");

    private static final TextMapGetter<java.util.function.Function<String, String>> GETTER = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(java.util.function.Function<String, String> carrier) {
            return List.of("traceparent", "tracestate", "baggage");
        }

        @Override
        public String get(java.util.function.Function<String, String> carrier, String key) {
            return carrier == null ? null : carrier.apply(key);
        }
    };

    private final OpenTelemetrySdk sdk;
    /** Null when nothing records: spans are then ids only ({@link #idsOnly}). */
    private final Tracer tracer;
    private final TextMapPropagator propagator;

    private Tracing(OpenTelemetrySdk sdk, OpenTelemetry otel) {
        this.sdk = sdk;
        this.tracer = otel.getTracer("dev.sidegate");
        this.propagator = otel.getPropagators().getTextMapPropagator();
    }

    private Tracing() {
        this.sdk = null;
        this.tracer = null;
        this.propagator = W3CTraceContextPropagator.getInstance();
    }

    /** Autoconfigures the SDK from {@code OTEL_*} variables of the given environment, when anything would export. */
    public static Tracing fromEnvironment(Map<String, String> env) {
        Map<String, String> properties = properties(env);
        if (!records(properties)) {
            return new Tracing();
        }
        AutoConfiguredOpenTelemetrySdk auto = AutoConfiguredOpenTelemetrySdk.builder()
                .disableShutdownHook()
                .addPropertiesCustomizer(config -> properties)
                .build();
        OpenTelemetrySdk sdk = auto.getOpenTelemetrySdk();
        return new Tracing(sdk, sdk);
    }

    /**
     * The SDK's properties: Sidegate's defaults, then every {@code OTEL_*} variable of the environment. Traces are
     * exported only when an exporter or an OTLP endpoint is configured; OTLP goes over HTTP/protobuf; Sidegate's own
     * metrics are on Prometheus, so OTel metrics and logs export nothing unless asked to.
     */
    static Map<String, String> properties(Map<String, String> env) {
        Map<String, String> p = new HashMap<>();
        p.put("otel.service.name", "sidegate");
        p.put("otel.metrics.exporter", "none");
        p.put("otel.logs.exporter", "none");
        p.put("otel.exporter.otlp.protocol", "http/protobuf");
        // Export sampled spans every 200 ms rather than the SDK's 5 s: a span waiting 5 s in the batch queue outlives
        // dozens of young collections under load and is promoted, and the old generation then fills with dead spans
        // (full pipeline, 60 s at saturation: tenured 29-41 MB against 17 MB, RSS +22 MB; idle, 1.3 ms of CPU a second).
        p.put("otel.bsp.schedule.delay", "200");
        boolean endpoint = env.containsKey("OTEL_EXPORTER_OTLP_ENDPOINT") || env.containsKey("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        p.put("otel.traces.exporter", endpoint ? "otlp" : "none");
        env.forEach((name, value) -> {
            if (name.startsWith("OTEL_") && value != null && !value.isBlank()) {
                p.put(name.toLowerCase(Locale.ROOT).replace('_', '.'), value.trim());
            }
        });
        return p;
    }

    /**
     * Whether spans are recorded: an exporter is configured, the SDK is not disabled, and propagation is not
     * limited to what the ids-only path does (W3C trace context; baggage passes as an ordinary header).
     */
    static boolean records(Map<String, String> properties) {
        if ("true".equalsIgnoreCase(properties.getOrDefault("otel.sdk.disabled", "false").trim())) {
            return false;
        }
        String propagators = properties.getOrDefault("otel.propagators", "tracecontext,baggage");
        boolean w3cOnly = java.util.Arrays.stream(propagators.split(","))
                .map(String::trim)
                .allMatch(p -> p.equals("tracecontext") || p.equals("baggage") || p.equals("none") || p.isEmpty());
        return !"none".equals(properties.get("otel.traces.exporter")) || !w3cOnly;
    }

    /** Whether anything records spans (and so whether span attributes are worth computing). */
    public boolean recording() {
        return tracer != null;
    }

    /** Starts the server span for a request, continuing the client's trace when it sent one. */
    public Span startServer(java.util.function.Function<String, String> header, String method) {
        Context parent = propagator.extract(Context.root(), header, GETTER);
        if (tracer == null) {
            return idsOnly(Span.fromContext(parent).getSpanContext());
        }
        return tracer.spanBuilder(method)
                .setParent(parent)
                .setSpanKind(SpanKind.SERVER)
                .setAttribute(METHOD, method)
                .startSpan();
    }

    /** Starts a client span for one upstream attempt and writes its context into the outgoing headers. */
    public Span startClient(Span server, String method, String host, int port, String urlWithoutQuery,
                            BiConsumer<String, String> setHeader) {
        if (tracer == null) {
            Span span = idsOnly(server.getSpanContext());
            propagator.inject(Context.root().with(span), setHeader, (carrier, key, value) -> carrier.accept(key, value));
            return span;
        }
        Span span = tracer.spanBuilder(method)
                .setParent(Context.root().with(server))
                .setSpanKind(SpanKind.CLIENT)
                .setAttribute(METHOD, method)
                .setAttribute(SERVER_ADDRESS, host)
                .setAttribute(SERVER_PORT, (long) port)
                .setAttribute("url.full", urlWithoutQuery)
                .startSpan();
        propagator.inject(Context.root().with(span), setHeader, (carrier, key, value) -> carrier.accept(key, value));
        return span;
    }

    /** A span that records nothing: the parent's trace (or a new one), a span id of its own, the parent's flags. */
    private static Span idsOnly(SpanContext parent) {
        java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
        long spanId;
        do {
            spanId = random.nextLong();
        } while (spanId == 0);
        if (parent.isValid()) {
            return Span.wrap(SpanContext.create(parent.getTraceId(), TraceIds.hex(spanId), parent.getTraceFlags(),
                                                parent.getTraceState()));
        }
        return Span.wrap(SpanContext.create(TraceIds.random(), TraceIds.hex(spanId), TraceFlags.getDefault(),
                                            TraceState.getDefault()));
    }

    static void status(Span span, int status, boolean serverSide) {
        span.setAttribute(STATUS, (long) status);
        if (status >= 500 || (!serverSide && status >= 400)) {
            span.setAttribute(ERROR_TYPE, Integer.toString(status));
            span.setStatus(StatusCode.ERROR);
        }
    }

    /** Ends an upstream attempt's span with its status, or with the failure when there was no response. */
    public static void endClient(Span span, Integer status, String failure) {
        if (!span.isRecording()) {
            return;
        }
        if (status != null) {
            status(span, status, false);
        } else {
            span.setAttribute(ERROR_TYPE, failure);
            span.setStatus(StatusCode.ERROR, failure);
        }
        span.end();
    }

    @Override
    public void close() {
        if (sdk != null) {
            sdk.close();
        }
    }
}
