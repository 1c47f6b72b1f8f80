package dev.sidegate.telemetry;

import java.net.InetAddress;
import java.net.URI;
import java.util.function.Function;

import dev.sidegate.proxy.RequestObserver;
import dev.sidegate.proxy.Stage;
import io.opentelemetry.api.trace.Span;

/** Traces, meters and the access log, wired once per Sidegate and shared by every pipeline. */
public final class Telemetry implements AutoCloseable {
    private final Tracing tracing;
    private final SidegateMetrics metrics;
    private final AccessLog accessLog;
    private final RecentProblems recentProblems = new RecentProblems();

    public Telemetry(Tracing tracing, SidegateMetrics metrics, AccessLog accessLog) {
        this.tracing = tracing;
        this.metrics = metrics;
        this.accessLog = accessLog;
    }

    /** The last problems this Sidegate answered, for the admin page. */
    public RecentProblems recentProblems() {
        return recentProblems;
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

    /** What observes the requests of one configuration (its access-log settings may change on reload). */
    public RequestObserver observer(AccessLogSettings settings) {
        return new RequestObserver() {
            @Override
            public Observation begin(String method, InetAddress peer, String requestId, Function<String, String> header) {
                Span span = tracing.startServer(header, method);
                return new RequestScope(Telemetry.this, settings, span, header, method, peer, requestId);
            }
        };
    }

    /** The stage that gives each attempt at an upstream its client span, trace headers and duration meter. */
    public Stage traceUpstream(String upstreamName, URI upstreamUrl) {
        return new TraceUpstream(tracing, metrics, upstreamName, upstreamUrl);
    }

    @Override
    public void close() {
        accessLog.close();
        tracing.close();
    }
}
