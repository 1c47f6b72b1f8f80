package dev.sidegate.loadtest;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * A fixed-rate (open-loop) HTTP/1.1 load generator in the manner of wrk2: request i is due at start + i/rate, and
 * its latency is measured from that due time, not from when a connection was free to send it, so a stalled
 * proxy shows up in the percentiles instead of silently slowing the load (coordinated omission corrected).
 * A fixed number of keep-alive connections, each driven by one virtual thread.
 *
 * <p>Usage: {@code OpenLoop url=http://127.0.0.1:8000/x rate=1000 connections=16 duration=15 warmup=5
 * [method=POST body=file content_type=application/json] [header=Name:value ...] [timeline=true] [out=result.json]}
 */
public final class OpenLoop {
    public static void main(String[] args) throws Exception {
        Map<String, String> a = new TreeMap<>();
        List<String> headers = new ArrayList<>();
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (arg.startsWith("header=")) {
                headers.add(arg.substring(7));
            } else {
                a.put(arg.substring(0, eq), arg.substring(eq + 1));
            }
        }
        java.net.URI url = java.net.URI.create(a.get("url"));
        int rate = Integer.parseInt(a.getOrDefault("rate", "1000"));
        int connections = Integer.parseInt(a.getOrDefault("connections", "16"));
        double duration = Double.parseDouble(a.getOrDefault("duration", "15"));
        double warmup = Double.parseDouble(a.getOrDefault("warmup", "5"));
        long timeoutMs = Long.parseLong(a.getOrDefault("timeout_ms", "10000"));
        String method = a.getOrDefault("method", "GET");
        byte[] body = a.containsKey("body") ? Files.readAllBytes(Path.of(a.get("body"))) : new byte[0];
        StringBuilder head = new StringBuilder();
        head.append(method).append(' ').append(url.getRawPath().isEmpty() ? "/" : url.getRawPath())
                .append(url.getRawQuery() == null ? "" : "?" + url.getRawQuery()).append(" HTTP/1.1\r\n")
                .append("Host: ").append(url.getHost()).append(':').append(url.getPort()).append("\r\n");
        for (String h : headers) {
            head.append(h.replaceFirst(":", ": ")).append("\r\n");
        }
        if (body.length > 0 || method.equals("POST") || method.equals("PUT")) {
            head.append("Content-Type: ").append(a.getOrDefault("content_type", "application/octet-stream")).append("\r\n");
            head.append("Content-Length: ").append(body.length).append("\r\n");
        }
        head.append("\r\n");
        byte[] headBytes = head.toString().getBytes(StandardCharsets.ISO_8859_1);
        byte[] request = new byte[headBytes.length + body.length];
        System.arraycopy(headBytes, 0, request, 0, headBytes.length);
        System.arraycopy(body, 0, request, headBytes.length, body.length);

        long intervalNs = 1_000_000_000L / rate;
        long warmupNs = (long) (warmup * 1e9);
        long totalNs = warmupNs + (long) (duration * 1e9);
        Recorder recorder = new Recorder(3);
        Map<Integer, LongAdder> statuses = new ConcurrentHashMap<>();
        LongAdder errors = new LongAdder();
        LongAdder completed = new LongAdder(); // warm-up included, for counting a server's work over the whole run
        // Timeline: per 100 ms slot (by due time) how many requests finished fast, slow (>= 500 ms) and per status.
        boolean timeline = Boolean.parseBoolean(a.getOrDefault("timeline", "false"));
        Map<Long, Map<String, LongAdder>> slots = new ConcurrentHashMap<>();
        AtomicLong next = new AtomicLong();
        long start = System.nanoTime() + 50_000_000L;
        List<Thread> workers = new ArrayList<>();
        for (int c = 0; c < connections; c++) {
            workers.add(Thread.ofVirtual().start(() -> {
                Socket socket = null;
                InputStream in = null;
                OutputStream out = null;
                while (true) {
                    long i = next.getAndIncrement();
                    long due = start + i * intervalNs;
                    if (due - start >= totalNs) {
                        break;
                    }
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        LockSupport.parkNanos(wait);
                    }
                    int status;
                    try {
                        if (socket == null) {
                            socket = new Socket();
                            socket.setTcpNoDelay(true);
                            socket.setSoTimeout((int) timeoutMs);
                            socket.connect(new InetSocketAddress(url.getHost(), url.getPort()), (int) timeoutMs);
                            in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
                            out = socket.getOutputStream();
                        }
                        out.write(request);
                        out.flush();
                        Response r = read(in);
                        status = r.status;
                        if (r.close) {
                            socket.close();
                            socket = null;
                        }
                    } catch (IOException e) {
                        status = -1;
                        errors.increment();
                        if (socket != null) {
                            try {
                                socket.close();
                            } catch (IOException ignored) {
                                // already broken
                            }
                        }
                        socket = null;
                    }
                    long latency = System.nanoTime() - due;
                    completed.increment();
                    if (due - start >= warmupNs) {
                        recorder.recordValue(Math.max(1, latency / 1000));
                        statuses.computeIfAbsent(status, k -> new LongAdder()).increment();
                        if (timeline) {
                            long slot = (due - start - warmupNs) / 100_000_000L;
                            Map<String, LongAdder> m = slots.computeIfAbsent(slot, k -> new ConcurrentHashMap<>());
                            m.computeIfAbsent("s" + status, k -> new LongAdder()).increment();
                            if (latency >= 500_000_000L) {
                                m.computeIfAbsent("slow", k -> new LongAdder()).increment();
                            }
                        }
                    }
                }
                if (socket != null) {
                    try {
                        socket.close();
                    } catch (IOException ignored) {
                        // done anyway
                    }
                }
            }));
        }
        for (Thread t : workers) {
            t.join();
        }
        Histogram h = recorder.getIntervalHistogram();
        long sent = h.getTotalCount();
        StringBuilder json = new StringBuilder("{");
        json.append("\"rate\":").append(rate).append(",\"connections\":").append(connections)
                .append(",\"duration_s\":").append(duration)
                .append(",\"requests\":").append(sent)
                .append(",\"completed_with_warmup\":").append(completed.sum())
                .append(",\"errors\":").append(errors.sum())
                .append(",\"p50_us\":").append(h.getValueAtPercentile(50))
                .append(",\"p90_us\":").append(h.getValueAtPercentile(90))
                .append(",\"p99_us\":").append(h.getValueAtPercentile(99))
                .append(",\"p999_us\":").append(h.getValueAtPercentile(99.9))
                .append(",\"max_us\":").append(h.getMaxValue())
                .append(",\"statuses\":{");
        String sep = "";
        for (Map.Entry<Integer, LongAdder> e : new TreeMap<>(statuses).entrySet()) {
            json.append(sep).append('"').append(e.getKey()).append("\":").append(e.getValue().sum());
            sep = ",";
        }
        json.append('}');
        if (timeline) {
            json.append(",\"timeline\":[");
            sep = "";
            for (Map.Entry<Long, Map<String, LongAdder>> e : new TreeMap<>(slots).entrySet()) {
                json.append(sep).append("{\"t\":").append(String.format(Locale.ROOT, "%.1f", e.getKey() / 10.0));
                for (Map.Entry<String, LongAdder> c : new TreeMap<>(e.getValue()).entrySet()) {
                    json.append(",\"").append(c.getKey()).append("\":").append(c.getValue().sum());
                }
                json.append('}');
                sep = ",";
            }
            json.append(']');
        }
        json.append("}\n");
        if (a.containsKey("out")) {
            Files.writeString(Path.of(a.get("out")), json);
        }
        System.out.print(json);
    }

    private record Response(int status, boolean close) {
    }

    /** Reads one response: status line, headers, a Content-Length or chunked body. */
    private static Response read(InputStream in) throws IOException {
        String statusLine = line(in);
        if (statusLine == null) {
            throw new IOException("connection closed");
        }
        int status = Integer.parseInt(statusLine.substring(9, 12));
        long length = -1;
        boolean chunked = false;
        boolean close = false;
        String line;
        while (!(line = line(in)).isEmpty()) {
            String lower = line.toLowerCase(Locale.ROOT);
            if (lower.startsWith("content-length:")) {
                length = Long.parseLong(lower.substring(15).trim());
            } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                chunked = true;
            } else if (lower.startsWith("connection:") && lower.contains("close")) {
                close = true;
            }
        }
        if (chunked) {
            while (true) {
                String size = line(in);
                int semi = size.indexOf(';');
                long n = Long.parseLong((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
                if (n == 0) {
                    while (!line(in).isEmpty()) {
                        // trailers
                    }
                    break;
                }
                skip(in, n);
                line(in);
            }
        } else if (length > 0) {
            skip(in, length);
        } else if (length < 0 && status != 204 && status != 304) {
            in.readAllBytes();
            close = true;
        }
        return new Response(status, close);
    }

    private static void skip(InputStream in, long n) throws IOException {
        while (n > 0) {
            long skipped = in.skip(n);
            if (skipped <= 0) {
                if (in.read() < 0) {
                    throw new IOException("body cut short");
                }
                skipped = 1;
            }
            n -= skipped;
        }
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int b;
        while ((b = in.read()) >= 0) {
            if (b == '\n') {
                int len = sb.length();
                return len > 0 && sb.charAt(len - 1) == '\r' ? sb.substring(0, len - 1) : sb.toString();
            }
            sb.append((char) b);
        }
        return sb.length() == 0 ? null : sb.toString();
    }
}
