package dev.sidegate.telemetry;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

/**
 * Writes one JSON object per request, one per line, to stdout; lines never interleave. Lines are buffered and
 * written at most {@link #FLUSH_PERIOD} later (or when the buffer fills), and on {@link #close()}, which shutdown
 * calls after the drain: a write and flush per line cost several microseconds of a request's CPU (loadtest/).
 * The buffer only ever holds whole lines, so what reaches stdout is whole lines too.
 */
public final class AccessLog implements AutoCloseable {
    /** How long a line may wait in the buffer. */
    public static final Duration FLUSH_PERIOD = Duration.ofMillis(200);
    private static final int BUFFER_BYTES = 32 * 1024;
    private static final JsonFactory JSON = dev.sidegate.proxy.Json.FACTORY;
    private final OutputStream out;
    private final ReentrantLock lock = new ReentrantLock();
    private final ScheduledFuture<?> flusher;
    private boolean pending;

    /**
     * @param out    where lines go (stdout); this class buffers in front of it
     * @param timers runs the periodic flush
     */
    public AccessLog(OutputStream out, ScheduledExecutorService timers) {
        this.out = new BufferedOutputStream(out, BUFFER_BYTES);
        this.flusher = timers.scheduleWithFixedDelay(this::flush, FLUSH_PERIOD.toMillis(), FLUSH_PERIOD.toMillis(),
                                                     TimeUnit.MILLISECONDS);
    }


    /** One finished request. Null fields are left out. */
    public record Entry(Instant time, String method, String path, String route, int status, double durationMs,
                        String upstream, Integer upstreamStatus, String clientIp, String userId, String traceId,
                        String requestId, String rateLimit, String auth) {
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
            g.writeStringField("time", time(e.time()));
            g.writeStringField("method", e.method());
            g.writeStringField("path", e.path());
            field(g, "route", e.route());
            g.writeNumberField("status", e.status());
            g.writeFieldName("duration_ms");
            g.writeNumber(millis(e.durationMs()));
            field(g, "upstream", e.upstream());
            if (e.upstreamStatus() != null) {
                g.writeNumberField("upstream_status", e.upstreamStatus());
            }
            field(g, "client_ip", e.clientIp());
            field(g, "user_id", e.userId());
            field(g, "trace_id", e.traceId());
            field(g, "request_id", e.requestId());
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
            pending = true;
        } catch (IOException ex) {
            // stdout gone: nothing sensible to do for an access log
        } finally {
            lock.unlock();
        }
    }

    /** Writes out the buffered lines. */
    public void flush() {
        lock.lock();
        try {
            if (pending) {
                pending = false;
                out.flush();
            }
        } catch (IOException e) {
            // stdout gone
        } finally {
            lock.unlock();
        }
    }

    /** ISO-8601 UTC with microseconds; the date-time part is formatted once per second, not per line. */
    String time(Instant t) {
        long second = t.getEpochSecond();
        SecondPrefix prefix = lastSecond;
        if (prefix.epochSecond() != second) {
            String iso = Instant.ofEpochSecond(second).toString(); // "2026-12-01T10:36:09Z"
            prefix = new SecondPrefix(second, iso.substring(0, iso.length() - 1) + ".");
            lastSecond = prefix;
        }
        String micros = Integer.toString(t.getNano() / 1000);
        return prefix.text() + "000000".substring(micros.length()) + micros + "Z";
    }

    private record SecondPrefix(long epochSecond, String text) {
    }

    private volatile SecondPrefix lastSecond = new SecondPrefix(Long.MIN_VALUE, "");

    /** Milliseconds with three decimals, without going through a double's shortest decimal form. */
    static String millis(double ms) {
        long micros = Math.max(0, Math.round(ms * 1000));
        String fraction = Long.toString(micros % 1000);
        return (micros / 1000) + "." + "000".substring(fraction.length()) + fraction;
    }

    private static void field(JsonGenerator g, String name, String value) throws IOException {
        if (value != null) {
            g.writeStringField(name, value);
        }
    }

    @Override
    public void close() {
        flusher.cancel(false);
        flush();
    }
}
