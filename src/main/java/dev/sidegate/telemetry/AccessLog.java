package dev.sidegate.telemetry;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

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

    // The field names as their JSON text, made once rather than per line.
    private static final byte[] TIME = JsonLine.key("time");
    private static final byte[] METHOD = JsonLine.key("method");
    private static final byte[] PATH = JsonLine.key("path");
    private static final byte[] ROUTE = JsonLine.key("route");
    private static final byte[] STATUS = JsonLine.key("status");
    private static final byte[] DURATION_MS = JsonLine.key("duration_ms");
    private static final byte[] UPSTREAM = JsonLine.key("upstream");
    private static final byte[] UPSTREAM_STATUS = JsonLine.key("upstream_status");
    private static final byte[] CLIENT_IP = JsonLine.key("client_ip");
    private static final byte[] USER_ID = JsonLine.key("user_id");
    private static final byte[] TRACE_ID = JsonLine.key("trace_id");
    private static final byte[] REQUEST_ID = JsonLine.key("request_id");
    private static final byte[] RATE_LIMIT = JsonLine.key("rate_limit");
    private static final byte[] AUTH = JsonLine.key("auth");

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
        JsonLine line = new JsonLine()
                .string(TIME, time(e.time()))
                .string(METHOD, e.method())
                .string(PATH, e.path())
                .string(ROUTE, e.route())
                .number(STATUS, Integer.toString(e.status()))
                .number(DURATION_MS, millis(e.durationMs()))
                .string(UPSTREAM, e.upstream())
                .number(UPSTREAM_STATUS, e.upstreamStatus() == null ? null : e.upstreamStatus().toString())
                .string(CLIENT_IP, e.clientIp())
                .string(USER_ID, e.userId())
                .string(TRACE_ID, e.traceId())
                .string(REQUEST_ID, e.requestId())
                .string(RATE_LIMIT, e.rateLimit())
                .string(AUTH, e.auth())
                .end();
        lock.lock();
        try {
            out.write(line.bytes, 0, line.size);
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

    /**
     * One log line: a JSON object of string and number fields, escaped as Jackson escapes them ({@code "}, backslash
     * and control characters), UTF-8, ending in a newline. Written by hand because Jackson's generator, made per line,
     * cost about 5% of a proxied request's CPU (loadtest/ANALYSIS.md); field names are Sidegate's own constants.
     */
    static final class JsonLine {
        private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.ISO_8859_1);
        private byte[] bytes = new byte[384];
        private int size;

        JsonLine() {
            bytes[size++] = '{';
        }

        /** A field name, a Sidegate constant in ASCII, as the JSON text that precedes its value: {@code "name":}. */
        static byte[] key(String name) {
            return ("\"" + name + "\":").getBytes(StandardCharsets.ISO_8859_1);
        }

        /** Adds a string field named by {@link #key}; a null value leaves the field out. */
        JsonLine string(byte[] key, String value) {
            if (value != null) {
                name(key);
                put('"');
                escaped(value);
                put('"');
            }
            return this;
        }

        /** Adds a number field named by {@link #key}, given as its JSON text; null leaves the field out. */
        @SuppressWarnings("deprecation") // String.getBytes(int, int, byte[], int): a number's text is ASCII
        JsonLine number(byte[] key, String text) {
            if (text != null) {
                name(key);
                ensure(text.length());
                text.getBytes(0, text.length(), bytes, size);
                size += text.length();
            }
            return this;
        }

        byte[] bytes() {
            return bytes;
        }

        int size() {
            return size;
        }

        JsonLine end() {
            put('}');
            put('\n');
            return this;
        }

        private void name(byte[] key) {
            ensure(key.length + 1);
            if (size > 1) {
                bytes[size++] = ',';
            }
            System.arraycopy(key, 0, bytes, size, key.length);
            size += key.length;
        }

        @SuppressWarnings("deprecation") // String.getBytes(int, int, byte[], int): the low byte of each char, all ASCII here
        private void escaped(String value) {
            int plain = 0;
            while (plain < value.length()) {
                char c = value.charAt(plain);
                if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
                    break;
                }
                plain++;
            }
            if (plain > 0) { // the common case: printable ASCII copied in one go
                ensure(plain);
                value.getBytes(0, plain, bytes, size);
                size += plain;
            }
            for (int i = plain; i < value.length(); i++) {
                char c = value.charAt(i);
                if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
                    put(c);
                } else if (c == '"' || c == '\\') {
                    put('\\');
                    put(c);
                } else if (c < 0x20) {
                    switch (c) {
                        case '\n' -> { put('\\'); put('n'); }
                        case '\r' -> { put('\\'); put('r'); }
                        case '\t' -> { put('\\'); put('t'); }
                        default -> unicodeEscape(c);
                    }
                } else if (c < 0x800) {
                    put(0xc0 | (c >> 6));
                    put(0x80 | (c & 0x3f));
                } else if (Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
                    int cp = Character.toCodePoint(c, value.charAt(++i));
                    put(0xf0 | (cp >> 18));
                    put(0x80 | ((cp >> 12) & 0x3f));
                    put(0x80 | ((cp >> 6) & 0x3f));
                    put(0x80 | (cp & 0x3f));
                } else if (Character.isSurrogate(c)) {
                    unicodeEscape(c); // a lone surrogate has no UTF-8 form; the escape keeps the line valid JSON
                } else {
                    put(0xe0 | (c >> 12));
                    put(0x80 | ((c >> 6) & 0x3f));
                    put(0x80 | (c & 0x3f));
                }
            }
        }

        private void unicodeEscape(char c) {
            put('\\');
            put('u');
            put(HEX[(c >> 12) & 0xf]);
            put(HEX[(c >> 8) & 0xf]);
            put(HEX[(c >> 4) & 0xf]);
            put(HEX[c & 0xf]);
        }

        private void put(int b) {
            if (size == bytes.length) {
                ensure(1);
            }
            bytes[size++] = (byte) b;
        }

        private void ensure(int more) {
            if (size + more > bytes.length) {
                bytes = java.util.Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
            }
        }
    }

    @Override
    public void close() {
        flusher.cancel(false);
        flush();
    }
}
