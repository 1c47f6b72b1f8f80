package dev.sidegate.telemetry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

/** Writes one JSON object per request, one per line, to stdout; lines never interleave. */
public final class AccessLog implements AutoCloseable {
    private static final JsonFactory JSON = dev.sidegate.proxy.Json.FACTORY;
    private final OutputStream out;
    private final ReentrantLock lock = new ReentrantLock();

    public AccessLog(PrintStream out) {
        this.out = out;
    }

    /** One finished request. Null fields are left out. */
    public record Entry(Instant time, String method, String path, String route, int status, double durationMs,
                        String upstream, Integer upstreamStatus, String clientIp, String userId, String traceId,
                        String rateLimit, String auth) {
    }

    public void write(AccessLogSettings settings, Entry e) {
        if (!settings.enabled()) {
            return;
        }
        if (e.status() < 500 && settings.sampleRate() < 1.0 && ThreadLocalRandom.current().nextDouble() >= settings.sampleRate()) {
            return;
        }
        ByteArrayOutputStream line = new ByteArrayOutputStream(384);
        try (JsonGenerator g = JSON.createGenerator(line)) {
            g.writeStartObject();
            g.writeStringField("time", e.time().toString());
            g.writeStringField("method", e.method());
            g.writeStringField("path", e.path());
            field(g, "route", e.route());
            g.writeNumberField("status", e.status());
            g.writeNumberField("duration_ms", Math.round(e.durationMs() * 1000) / 1000.0);
            field(g, "upstream", e.upstream());
            if (e.upstreamStatus() != null) {
                g.writeNumberField("upstream_status", e.upstreamStatus());
            }
            field(g, "client_ip", e.clientIp());
            field(g, "user_id", e.userId());
            field(g, "trace_id", e.traceId());
            field(g, "rate_limit", e.rateLimit());
            field(g, "auth", e.auth());
            g.writeEndObject();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        line.write('\n');
        lock.lock();
        try {
            line.writeTo(out);
            out.flush();
        } catch (IOException ex) {
            // stdout gone: nothing sensible to do for an access log
        } finally {
            lock.unlock();
        }
    }

    private static void field(JsonGenerator g, String name, String value) throws IOException {
        if (value != null) {
            g.writeStringField(name, value);
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            out.flush();
        } catch (IOException e) {
            // stdout gone
        } finally {
            lock.unlock();
        }
    }
}
