package dev.sidegate.demo;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.websocket.WsRouting;
import io.helidon.websocket.WsListener;
import io.helidon.websocket.WsSession;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * The demo's built-in upstream on loopback: answers every request with a JSON description of what it received
 * (so the effect of Sidegate's pipeline is visible), streams Server-Sent Events on {@code /events}, and publishes the
 * demo identity provider's JWKS.
 */
final class EchoUpstream implements AutoCloseable {
    private static final ObjectMapper JSON = dev.sidegate.proxy.Json.mapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final int MAX_ECHOED_BODY = 64 * 1024;

    private final WebServer server;

    private EchoUpstream(WebServer server) {
        this.server = server;
    }

    /** Starts the echo server; it also serves the demo identity provider's public keys at {@code /.well-known/jwks.json}. */
    static EchoUpstream start(String jwksJson) {
        byte[] jwks = jwksJson.getBytes(StandardCharsets.UTF_8);
        WebServer server = WebServer.builder()
                .host("127.0.0.1")
                .port(0)
                .shutdownHook(false)
                .featuresDiscoverServices(false)
                .addRouting(WsRouting.builder().endpoint("/ws/echo", new WsListener() {
                    @Override
                    public void onMessage(WsSession session, String text, boolean last) {
                        session.send("echo: " + text, last);
                    }
                }))
                .routing(r -> r.get("/events", EchoUpstream::events)
                        .get("/.well-known/jwks.json", (req, res) -> {
                            res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "application/json"));
                            res.send(jwks);
                        })
                        .any(EchoUpstream::echo))
                .build()
                .start();
        return new EchoUpstream(server);
    }

    int port() {
        return server.port();
    }

    private static void echo(ServerRequest req, ServerResponse res) throws IOException {
        Map<String, Object> seen = new LinkedHashMap<>();
        seen.put("upstream", "sidegate demo echo");
        seen.put("method", req.prologue().method().text());
        seen.put("path", req.prologue().uriPath().rawPath());
        seen.put("query", req.prologue().query().rawValue());
        Map<String, Object> headers = new LinkedHashMap<>();
        for (Header h : req.headers()) {
            List<String> values = h.allValues();
            headers.put(h.name(), values.size() == 1 ? values.get(0) : new ArrayList<>(values));
        }
        seen.put("headers", headers);
        if (req.content().hasEntity()) {
            try (InputStream in = req.content().inputStream()) {
                byte[] body = in.readNBytes(MAX_ECHOED_BODY);
                seen.put("body", new String(body, StandardCharsets.UTF_8));
                in.transferTo(OutputStream.nullOutputStream());
            }
        }
        res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "application/json"));
        res.send(toJson(seen));
    }

    private static void events(ServerRequest req, ServerResponse res) throws IOException, InterruptedException {
        res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "text/event-stream"));
        res.header(HeaderValues.create(HeaderNames.CACHE_CONTROL, "no-cache"));
        try (OutputStream out = res.outputStream()) {
            for (int i = 1; i <= 5; i++) {
                out.write(("id: " + i + "\nevent: tick\ndata: {\"tick\": " + i + ", \"of\": 5}\n\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                if (i < 5) {
                    Thread.sleep(1000); // the demo stream is meant to be slow: one event per second
                }
            }
        }
    }

    private static byte[] toJson(Object value) {
        try {
            return JSON.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        server.stop();
    }
}
