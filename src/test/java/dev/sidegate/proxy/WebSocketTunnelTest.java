package dev.sidegate.proxy;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.Tokens;
import io.helidon.common.buffers.BufferData;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.websocket.WsRouting;
import io.helidon.websocket.WsListener;
import io.helidon.websocket.WsSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * WebSocket through Sidegate: a real WebSocket server upstream (Helidon's websocket module) and a real client
 * (java.net.http.WebSocket), the handshake through the route's pipeline, the frames relayed as they are.
 */
class WebSocketTunnelTest {
    private static final byte[] SECRET = "websocket-tests-secret-0123456789abcdef".getBytes(StandardCharsets.UTF_8);
    private static final Map<String, Headers> HANDSHAKES = new ConcurrentHashMap<>();
    private static final BlockingQueue<String> CLOSES_SEEN_UPSTREAM = new LinkedBlockingQueue<>();
    private static WebServer upstream;

    /** Echoes every message with its last-fragment flag, and closes with the code and reason it was closed with. */
    static final class Echo implements WsListener {
        @Override
        public void onMessage(WsSession session, String text, boolean last) {
            if (text.equals("close me")) {
                session.close(4002, "the app says bye");
                return;
            }
            session.send(text, last);
        }

        @Override
        public void onMessage(WsSession session, BufferData buffer, boolean last) {
            session.send(buffer, last);
        }

        @Override
        public void onPing(WsSession session, BufferData buffer) {
            session.pong(buffer);
        }

        @Override
        public void onClose(WsSession session, int status, String reason) {
            CLOSES_SEEN_UPSTREAM.add(status + " " + reason);
        }

        @Override
        public java.util.Optional<Headers> onHttpUpgrade(HttpPrologue prologue, Headers headers) {
            headers.first(io.helidon.http.HeaderNames.create("X-Test-Id")).ifPresent(id -> HANDSHAKES.put(id, headers));
            boolean chat = headers.first(io.helidon.http.HeaderNames.create("Sec-WebSocket-Protocol"))
                    .map(p -> java.util.Arrays.stream(p.split(",")).anyMatch(e -> e.trim().equals("chat"))).orElse(false);
            return chat ? java.util.Optional.of(io.helidon.http.WritableHeaders.create()
                                                        .set(io.helidon.http.HeaderNames.create("Sec-WebSocket-Protocol"), "chat"))
                    : java.util.Optional.empty();
        }
    }

    @BeforeAll
    static void startUpstream() {
        upstream = WebServer.builder()
                .port(0)
                .host("127.0.0.1")
                // Helidon's WebSocket server checks Origin too (same origin unless listed): these pages may connect.
                .addProtocol(io.helidon.webserver.websocket.WsConfig.builder()
                                     .addOrigin("https://app.example.com").addOrigin("https://eu.apps.example.com").build())
                .addRouting(WsRouting.builder().endpoint("/ws/echo", new Echo()).endpoint("/open/echo", new Echo())
                                    .endpoint("/open/limited", new Echo()))
                .routing(r -> r.get("/ws/refused", (req, res) -> res.status(Status.FORBIDDEN_403).send("not for you"))
                        .get("/plain/echo", (req, res) -> res.send("a plain GET: " + req.headers().contains(
                                io.helidon.http.HeaderNames.UPGRADE))))
                .build()
                .start();
    }

    @AfterAll
    static void stopUpstream() {
        upstream.stop();
    }

    private static Map<String, String> env(String... more) {
        Map<String, String> env = new HashMap<>();
        env.put("SIDEGATE_UPSTREAM", "http://127.0.0.1:" + upstream.port());
        env.put("SIDEGATE_JWT_HMAC_SECRET", new String(SECRET, StandardCharsets.UTF_8));
        env.put("SIDEGATE_JWT_ISSUER", Tokens.ISSUER);
        env.put("SIDEGATE_JWT_AUDIENCE", Tokens.AUDIENCE);
        for (int i = 0; i < more.length; i += 2) {
            env.put(more[i], more[i + 1]);
        }
        return env;
    }

    private static final String ROUTES = """
            server:
              trusted_proxies: [127.0.0.1/32]
            routes:
              - path: /ws
                websocket: true
              - path: /open
                public: true
                websocket: true
              - path: /plain
                public: true
            rate_limits:
              default: {requests: 1000, window: 60s}
              routes:
                /open/limited: {requests: 1, window: 600s}
            """;

    private static String token(String subject) {
        return "Bearer " + Tokens.hs256(SECRET, Tokens.claims(subject).build());
    }

    /** Collects what the client receives, message by message with the last-fragment flag. */
    static final class Received implements WebSocket.Listener {
        final BlockingQueue<String> events = new LinkedBlockingQueue<>();

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            events.add("text " + data + (last ? "" : " (more)"));
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            byte[] bytes = new byte[data.remaining()];
            data.get(bytes);
            events.add("binary " + java.util.HexFormat.of().formatHex(bytes));
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onPong(WebSocket ws, ByteBuffer data) {
            events.add("pong " + StandardCharsets.UTF_8.decode(data));
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
            events.add("close " + status + " " + reason);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            events.add("error " + error);
        }

        String next() throws InterruptedException {
            String e = events.poll(30, TimeUnit.SECONDS);
            assertNotNull(e, "nothing arrived within 30 s");
            return e;
        }
    }

    /** The close the app saw with this code (other tests' tunnels close too, and the queue is shared). */
    private static String closeSeenUpstream(String code) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            String seen = CLOSES_SEEN_UPSTREAM.poll(1, TimeUnit.SECONDS);
            if (seen != null && seen.startsWith(code + " ")) {
                return seen;
            }
        }
        return "no close " + code + " within 30 s";
    }

    private static WebSocket open(SidegateFixture sg, String path, Received listener, String... headers) {
        WebSocket.Builder b = HttpClient.newHttpClient().newWebSocketBuilder();
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return b.buildAsync(URI.create("ws://127.0.0.1:" + sg.port() + path), listener).join();
    }

    private static int refusedStatus(SidegateFixture sg, String path, String... headers) {
        CompletionException e = assertThrows(CompletionException.class, () -> open(sg, path, new Received(), headers));
        assertTrue(e.getCause() instanceof WebSocketHandshakeException, String.valueOf(e.getCause()));
        return ((WebSocketHandshakeException) e.getCause()).getResponse().statusCode();
    }

    @Test
    void textBinaryFragmentsPingsAndCloseCodesArriveUnchanged() throws Exception {
        try (SidegateFixture sg = SidegateFixture.start(ROUTES, env())) {
            Received got = new Received();
            WebSocket ws = open(sg, "/ws/echo", got, "Authorization", token("ws-user"));
            ws.sendText("hello", true).join();
            assertEquals("text hello", got.next());
            ws.sendBinary(ByteBuffer.wrap(new byte[] {0, 1, 2, (byte) 0xFF}), true).join();
            assertEquals("binary 000102ff", got.next());
            ws.sendText("frag", false).join();
            assertEquals("text frag (more)", got.next(), "a fragment stays a fragment");
            ws.sendText("ment", true).join();
            assertEquals("text ment", got.next());
            String large = "x".repeat(200_000);
            ws.sendText(large, true).join();
            StringBuilder echoed = new StringBuilder();
            while (echoed.length() < large.length()) {
                String e = got.next();
                echoed.append(e.substring(5).replace(" (more)", ""));
            }
            assertEquals(large, echoed.toString(), "a message larger than any buffer of Sidegate's");
            ws.sendPing(ByteBuffer.wrap("p1".getBytes(StandardCharsets.UTF_8))).join();
            assertEquals("pong p1", got.next(), "the upstream's pong, through the tunnel");
            ws.sendClose(4001, "bye now").join();
            assertEquals("4001 bye now", closeSeenUpstream("4001"), "the client's code and reason reach the app");

            Received second = new Received();
            WebSocket other = open(sg, "/ws/echo", second, "Authorization", token("ws-user"));
            other.sendText("close me", true).join();
            assertEquals("close 4002 the app says bye", second.next(), "the app's code and reason reach the client");
        }
    }

    @Test
    void theHandshakeGoesThroughAuthAndIdentityHeaders() throws Exception {
        try (SidegateFixture sg = SidegateFixture.start(ROUTES, env())) {
            assertEquals(401, refusedStatus(sg, "/ws/echo"), "no token: Sidegate's 401, the app never asked");
            assertEquals(401, refusedStatus(sg, "/ws/echo", "Authorization", "Bearer not-a-token"));

            Received got = new Received();
            WebSocket ws = open(sg, "/ws/echo", got, "Authorization", token("alice"), "X-User-ID", "mallory",
                                "X-Test-Id", "identity");
            ws.sendText("ping?", true).join();
            assertEquals("text ping?", got.next());
            Headers seen = HANDSHAKES.get("identity");
            assertEquals("alice", seen.first(io.helidon.http.HeaderNames.create("X-User-ID")).orElseThrow(),
                         "the client's X-User-ID is replaced by the token's subject");
            assertFalse(seen.contains(io.helidon.http.HeaderNames.AUTHORIZATION), "the bearer token stays with Sidegate");
            assertTrue(seen.contains(io.helidon.http.HeaderNames.create("traceparent")));
            ws.sendClose(1000, "").join();
        }
    }

    @Test
    void anUpstreamThatRefusesTheHandshakeIsRelayedWithItsStatusAndBody() throws Exception {
        try (SidegateFixture sg = SidegateFixture.start(ROUTES, env())) {
            HttpResponse<String> refused = SidegateFixture.send(HttpRequest.newBuilder(sg.uri("/ws/refused"))
                                                                          .header("Authorization", token("bob"))
                                                                          .build());
            assertEquals(403, refused.statusCode(), "an ordinary GET on the route: the app's answer");
            assertEquals(403, refusedStatus(sg, "/ws/refused", "Authorization", token("bob")),
                         "the app's 403 to the handshake reaches the client with its status");
            String raw = dev.sidegate.testing.RawHttp.exchange(sg.port(), "GET /ws/refused HTTP/1.1\r\nHost: x\r\n"
                    + "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: " + token("bob") + "\r\n\r\n").text();
            assertEquals("not for you", raw, "and its body");
        }
    }

    @Test
    void aRouteWithoutWebsocketForwardsTheHandshakeAsAPlainGet() throws Exception {
        try (SidegateFixture sg = SidegateFixture.start(ROUTES, env())) {
            dev.sidegate.testing.RawHttp.Response r = dev.sidegate.testing.RawHttp.exchange(sg.port(),
                    "GET /plain/echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
            assertEquals(200, r.status());
            assertEquals("a plain GET: false", r.text(), "Upgrade is hop-by-hop: it goes no further");
        }
    }

    @Test
    void theHandshakeIsRateLimitedAndTunnelsAreCapped() throws Exception {
        try (SidegateFixture sg = SidegateFixture.start(ROUTES, env())) {
            Received first = new Received();
            WebSocket ws = open(sg, "/open/limited", first, "X-Forwarded-For", "10.7.0.1");
            assertEquals(429, refusedStatus(sg, "/open/limited", "X-Forwarded-For", "10.7.0.1"), "one handshake per window");
            ws.sendClose(1000, "").join();
        }
        String capped = ROUTES.replace("server:\n", "server:\n  max_tunnels: 1\n");
        try (SidegateFixture sg = SidegateFixture.start(capped, env())) {
            Received first = new Received();
            WebSocket ws = open(sg, "/open/echo", first);
            com.fasterxml.jackson.databind.JsonNode status = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(sg.admin("/admin/status").body()).get("tunnels");
            assertEquals(1, status.get("open").asInt(), "the admin status counts it");
            assertEquals(1, status.get("max").asInt());
            assertTrue(sg.admin("/observe/metrics").body().contains("sidegate_tunnels_open 1.0"));
            assertEquals(503, refusedStatus(sg, "/open/echo"), "one tunnel at a time");
            ws.sendClose(1000, "done").join();
            assertTrue(first.next().startsWith("close 1000"));
            // The place comes back when the tunnel ends; poll with a deadline for the connection to be torn down.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                try {
                    Received again = new Received();
                    WebSocket second = open(sg, "/open/echo", again);
                    second.sendText("again", true).join();
                    assertEquals("text again", again.next());
                    second.sendClose(1000, "").join();
                    break;
                } catch (CompletionException e) {
                    assertTrue(System.nanoTime() < deadline, "the first tunnel's place never came back");
                    Thread.onSpinWait();
                }
            }
        }
    }

    @Test
    void aFrameOverTheCapEndsTheTunnelWithMessageTooBig() throws Exception {
        String capped = ROUTES.replace("server:\n", "server:\n  websocket_max_frame_bytes: 1024\n");
        try (SidegateFixture sg = SidegateFixture.start(capped, env())) {
            Received got = new Received();
            WebSocket ws = open(sg, "/open/echo", got);
            ws.sendText("y".repeat(1000), true).join();
            assertEquals("text " + "y".repeat(1000), got.next(), "under the cap: relayed");
            ws.sendText("z".repeat(2000), true).join();
            assertEquals("close 1009 ", got.next(), "over the cap: closed, and the app never got it");
            assertTrue(got.events.stream().noneMatch(e -> e.contains("zzz")));
        }
    }

    @Test
    void aQuietTunnelIsClosedAfterItsIdleTimeoutWithGoingAway() throws Exception {
        String idle = ROUTES.replace("server:\n", "server:\n  idle_timeout: 1s\n")
                .replace("  - path: /open\n    public: true\n    websocket: true\n",
                         "  - path: /open\n    public: true\n    websocket: true\n    websocket_idle_timeout: 1s\n");
        try (SidegateFixture sg = SidegateFixture.start(idle, env())) {
            Received got = new Received();
            WebSocket ws = open(sg, "/open/echo", got);
            ws.sendText("still here", true).join();
            assertEquals("text still here", got.next());
            assertEquals("close 1001 ", got.next(), "closed by Sidegate once nothing moved for the idle timeout");
        }
    }

    @Test
    void aDrainEndsOpenTunnelsWithGoingAwayAndAReloadKeepsThem() throws Exception {
        SidegateFixture sg = SidegateFixture.start(ROUTES, env("SIDEGATE_DRAIN_TIMEOUT", "1s", "SIDEGATE_CONFIG_WATCH", "false"));
        Received got = new Received();
        WebSocket ws = open(sg, "/open/echo", got);
        Files.writeString(sg.configFile(), ROUTES.replace("  - path: /plain\n", "  - path: /plain\n    timeout: 7s\n"));
        HttpResponse<String> reload = SidegateFixture.send(HttpRequest.newBuilder(sg.adminUri("/admin/reload"))
                                                                   .POST(HttpRequest.BodyPublishers.noBody()).build());
        assertEquals(200, reload.statusCode(), reload.body());
        ws.sendText("after the reload", true).join();
        assertEquals("text after the reload", got.next(), "a reload keeps the open tunnel");
        CompletableFuture<Void> stopped = CompletableFuture.runAsync(sg::close);
        assertEquals("close 1001 ", got.next(), "going away, at the drain deadline");
        stopped.get(60, TimeUnit.SECONDS);
    }

    private static final String BROWSER_TOKENS = """
            auth:
              websocket_token:
                cookie: sidegate_token
                protocol_prefix: "bearer."
            routes:
              - path: /ws
                websocket: true
                websocket_origins: [https://app.example.com, "https://*.apps.example.com"]
            """;

    @Test
    void aBrowserCarriesItsTokenInACookieOrASubProtocolAndNeitherReachesTheApp() throws Exception {
        try (SidegateFixture sg = SidegateFixture.start(BROWSER_TOKENS, env())) {
            String jwt = token("carol").substring("Bearer ".length());
            Received byCookie = new Received();
            WebSocket ws = open(sg, "/ws/echo", byCookie, "Cookie", "theme=dark; sidegate_token=" + jwt,
                                "Origin", "https://app.example.com", "X-Test-Id", "cookie");
            ws.sendText("cookie ok", true).join();
            assertEquals("text cookie ok", byCookie.next());
            Headers seen = HANDSHAKES.get("cookie");
            assertEquals("carol", seen.first(io.helidon.http.HeaderNames.create("X-User-ID")).orElseThrow());
            assertEquals("theme=dark", seen.first(io.helidon.http.HeaderNames.COOKIE).orElseThrow(), "the token cookie stays here");
            ws.sendClose(1000, "").join();

            Received byProtocol = new Received();
            WebSocket.Builder b = HttpClient.newHttpClient().newWebSocketBuilder().subprotocols("chat", "bearer." + jwt)
                    .header("X-Test-Id", "protocol");
            WebSocket ws2 = b.buildAsync(URI.create("ws://127.0.0.1:" + sg.port() + "/ws/echo"), byProtocol).join();
            assertEquals("chat", ws2.getSubprotocol(), "the app chose among what the client offered besides the token");
            assertEquals("chat", HANDSHAKES.get("protocol").first(io.helidon.http.HeaderNames.create("Sec-WebSocket-Protocol"))
                    .orElseThrow(), "the token entry stays here");
            ws2.sendClose(1000, "").join();

            HttpResponse<String> plain = SidegateFixture.send(HttpRequest.newBuilder(sg.uri("/ws/echo"))
                                                                        .header("Cookie", "sidegate_token=" + jwt).build());
            assertEquals(401, plain.statusCode(), "an ordinary request is never authenticated by the cookie");
            assertEquals(401, refusedStatus(sg, "/ws/echo", "Cookie", "sidegate_token=not-a-jwt"));
        }
    }

    @Test
    void aHandshakeFromAnotherSitesPageIsRefused() throws Exception {
        try (SidegateFixture sg = SidegateFixture.start(BROWSER_TOKENS, env())) {
            String jwt = token("dave");
            assertEquals(403, refusedStatus(sg, "/ws/echo", "Authorization", jwt, "Origin", "https://evil.example"));
            assertEquals(403, refusedStatus(sg, "/ws/echo", "Authorization", jwt, "Origin", "https://apps.example.com"));
            String body = dev.sidegate.testing.RawHttp.exchange(sg.port(), "GET /ws/echo HTTP/1.1\r\nHost: x\r\n"
                    + "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: https://evil.example\r\nAuthorization: " + jwt
                    + "\r\n\r\n").text();
            assertTrue(body.contains("urn:sidegate:problem:websocket-origin-refused"), "Sidegate's refusal, not the app's: " + body);
            Received ok = new Received();
            WebSocket ws = open(sg, "/ws/echo", ok, "Authorization", jwt, "Origin", "https://eu.apps.example.com");
            ws.sendText("from an allowed page", true).join();
            assertEquals("text from an allowed page", ok.next());
            ws.sendClose(1000, "").join();
            Received noOrigin = new Received();
            WebSocket cli = open(sg, "/ws/echo", noOrigin, "Authorization", jwt);
            cli.sendText("no browser", true).join();
            assertEquals("text no browser", noOrigin.next(), "clients that are not browsers send no Origin");
            cli.sendClose(1000, "").join();
        }
    }

    @Test
    void badWebsocketSettingsFailTheLoadNamingTheKey() {
        for (List<String> c : List.of(
                List.of("routes: [{path: /a, websocket_idle_timeout: 1m}]", "routes[0].websocket_idle_timeout: applies to a route with websocket: true"),
                List.of("routes: [{path: /a, methods: [POST], websocket: true}]", "routes[0].websocket: a WebSocket handshake is a GET"),
                List.of("routes: [{path: /a, websocket: yes}]", "routes[0].websocket: expected true or false"),
                List.of("server: {max_tunnels: 0}", "server.max_tunnels: "),
                List.of("server: {websocket_max_frame_bytes: 10}", "server.websocket_max_frame_bytes: "),
                List.of("routes: [{path: /a, websocket_origins: ['https://a.example']}]", "routes[0].websocket_origins: applies to a route with websocket: true"),
                List.of("routes: [{path: /a, websocket: true, websocket_origins: ['*']}]", "routes[0].websocket_origins[0]: '*' would allow every origin"),
                List.of("auth: {websocket_token: {cookie: sid}}\nroutes: [{path: /a, websocket: true}]",
                        "routes[0].websocket_origins: required on a WebSocket route when auth.websocket_token.cookie is set"),
                List.of("auth: {websocket_token: {protocol_prefix: 'b'}}", "auth.websocket_token.protocol_prefix: expected a sub-protocol prefix"))) {
            Map<String, String> e = new HashMap<>(env());
            e.put("SIDEGATE_CONFIG", SidegateFixture.writeTemp(c.get(0)).toString());
            String message = assertThrows(dev.sidegate.config.ConfigException.class,
                                          () -> dev.sidegate.assembly.ConfigLoader.load(e)).getMessage();
            assertTrue(message.startsWith(c.get(1)), message);
        }
    }
}
