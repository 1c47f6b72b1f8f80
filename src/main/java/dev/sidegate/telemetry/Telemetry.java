package dev.sidegate.telemetry;

import java.net.InetAddress;
import java.util.function.Function;

import io.opentelemetry.api.trace.Span;

/** Traces, meters and the access log, wired once per process and shared by every pipeline. */
public final class Telemetry implements AutoCloseable {
    private final Tracing tracing;
    private final SidegateMetrics metrics;
    private final AccessLog accessLog;

    public Telemetry(Tracing tracing, SidegateMetrics metrics, AccessLog accessLog) {
        this.tracing = tracing;
        this.metrics = metrics;
        this.accessLog = accessLog;
    }

    public Tracing tracing() {
        return tracing;
    }

    public SidegateMetrics metrics() {
        return metrics;
    }

    AccessLog accessLog() {
        return accessLog;
    }

    /** Begins a request: its server span (joining the client's trace) and its trace id. */
    public RequestScope begin(Iterable<String> headerNames, Function<String, String> header, String method, InetAddress peer) {
        Span span = tracing.startServer(headerNames, header, method);
        return new RequestScope(this, span, header.apply("traceparent"), method, peer);
    }

    @Override
    public void close() {
        tracing.close();
    }
}
