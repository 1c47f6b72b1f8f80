package dev.sidegate.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.sidegate.proxy.PassThroughEncoding;
import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * A real HTTP upstream (Helidon WebServer on loopback) that records every request it receives and answers
 * according to the path. Tests can install their own handler for a path prefix with {@link #handle}.
 *
 * <p>Default behaviour by path: {@code /status/N} answers status N; {@code /slow?ms=N} answers after N ms;
 * {@code /bytes?n=N[&chunked=true]} streams N deterministic bytes; anything else answers 200 with the body it got.
 */
public final class TestUpstream implements AutoCloseable {
    private final WebServer server;
    private final List<Recorded> requests = new CopyOnWriteArrayList<>();
    private final Map<String, Handler> handlers = new ConcurrentHashMap<>();

    /** What the upstream saw. */
    public record Recorded(String method, String rawPath, String rawQuery, List<Map.Entry<String, String>> headers,
                           long bodyLength, String bodySha256, byte[] bodyStart, int peerPort) {

        public Optional<String> header(String name) {
            return headers.stream().filter(e -> e.getKey().equalsIgnoreCase(name)).map(Map.Entry::getValue).findFirst();
        }

        public List<String> headers(String name) {
            return headers.stream().filter(e -> e.getKey().equalsIgnoreCase(name)).map(Map.Entry::getValue).toList();
        }

        public String body() {
            return new String(bodyStart, StandardCharsets.UTF_8);
        }

        public String target() {
            return rawQuery.isEmpty() ? rawPath : rawPath + "?" + rawQuery;
        }
    }

    private TestUpstream(WebServer server) {
        this.server = server;
    }

    public static TestUpstream start() {
        TestUpstream[] self = new TestUpstream[1];
        WebServer server = WebServer.builder()
                .host("127.0.0.1")
                .port(0)
                .shutdownHook(false)
                .featuresDiscoverServices(false)
                .contentEncoding(new PassThroughEncoding()) // see bodies exactly as Sidegate sent them
                .routing(r -> r.any((req, res) -> self[0].dispatch(req, res)))
                .build();
        self[0] = new TestUpstream(server);
        server.start();
        return self[0];
    }

    public int port() {
        return server.port();
    }

    public String url() {
        return "http://127.0.0.1:" + port();
    }

    /** Installs a handler for requests whose path starts with the prefix; it runs after the request is recorded. */
    public void handle(String pathPrefix, Handler handler) {
        handlers.put(pathPrefix, handler);
    }

    public List<Recorded> requests() {
        return List.copyOf(requests);
    }

    public int count() {
        return requests.size();
    }

    public Recorded last() {
        if (requests.isEmpty()) {
            throw new AssertionError("the upstream received no request");
        }
        return requests.get(requests.size() - 1);
    }

    private void dispatch(ServerRequest req, ServerResponse res) throws Exception {
        String path = req.prologue().uriPath().rawPath();
        for (Map.Entry<String, Handler> custom : handlers.entrySet()) {
            if (path.startsWith(custom.getKey())) {
                record(req, false);
                custom.getValue().handle(req, res);
                return;
            }
        }
        byte[] body = record(req, true);
        String query = req.prologue().query().rawValue();
        if (path.startsWith("/status/")) {
            int code = Integer.parseInt(path.substring("/status/".length()));
            res.status(Status.create(code));
            res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "text/plain"));
            res.send(("status " + code).getBytes(StandardCharsets.UTF_8));
        } else if (path.startsWith("/slow")) {
            Thread.sleep(Long.parseLong(param(query, "ms", "1000"))); // the stub plays a slow upstream
            res.send("slow".getBytes(StandardCharsets.UTF_8));
        } else if (path.startsWith("/bytes")) {
            long n = Long.parseLong(param(query, "n", "0"));
            boolean chunked = Boolean.parseBoolean(param(query, "chunked", "false"));
            if (!chunked) {
                res.header(HeaderValues.create(HeaderNames.CONTENT_LENGTH, n));
            }
            try (OutputStream out = res.outputStream()) {
                Patterns.write(out, n);
            }
        } else {
            res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "application/octet-stream"));
            res.send(body);
        }
    }

    private byte[] record(ServerRequest req, boolean readBody) throws IOException {
        List<Map.Entry<String, String>> headers = new ArrayList<>();
        for (Header h : req.headers()) {
            for (String v : h.allValues()) {
                headers.add(Map.entry(h.name(), v));
            }
        }
        long length = 0;
        String sha = sha256(new byte[0]);
        byte[] start = new byte[0];
        byte[] all = new byte[0];
        if (readBody && req.content().hasEntity()) {
            MessageDigest digest = digest();
            java.io.ByteArrayOutputStream kept = new java.io.ByteArrayOutputStream();
            try (InputStream in = req.content().inputStream()) {
                byte[] buffer = new byte[64 * 1024];
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    digest.update(buffer, 0, n);
                    length += n;
                    if (kept.size() < 1024 * 1024) {
                        kept.write(buffer, 0, n);
                    }
                }
            }
            sha = HexFormat.of().formatHex(digest.digest());
            all = kept.toByteArray();
            start = all.length > 64 * 1024 ? java.util.Arrays.copyOf(all, 64 * 1024) : all;
        }
        int peerPort = ((InetSocketAddress) req.remotePeer().address()).getPort();
        requests.add(new Recorded(req.prologue().method().text(), req.prologue().uriPath().rawPath(),
                                  req.prologue().query().rawValue(), headers, length, sha, start, peerPort));
        return all;
    }

    static String param(String query, String name, String fallback) {
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0 && pair.substring(0, eq).equals(name)) {
                return pair.substring(eq + 1);
            }
        }
        return fallback;
    }

    static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(digest().digest(bytes));
    }

    @Override
    public void close() {
        server.stop();
    }
}
