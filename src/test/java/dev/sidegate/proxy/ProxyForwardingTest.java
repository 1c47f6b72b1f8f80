package dev.sidegate.proxy;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;

import dev.sidegate.testing.RawHttp;
import dev.sidegate.testing.RawUpstream;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the upstream receives and what the client gets back, for ordinary traffic through a real Sidegate. */
class ProxyForwardingTest {
    private static TestUpstream upstream;
    private static SidegateFixture sidegate;

    @BeforeAll
    static void start() {
        upstream = TestUpstream.start();
        upstream.handle("/redirect", (req, res) -> {
            res.status(Status.FOUND_302);
            res.header(HeaderValues.create(HeaderNames.LOCATION, "/elsewhere"));
            res.send();
        });
        upstream.handle("/cookies", (req, res) -> {
            res.headers().add(HeaderValues.create(HeaderNames.SET_COOKIE, "a=1; Path=/"));
            res.headers().add(HeaderValues.create(HeaderNames.SET_COOKIE, "b=2; Path=/; HttpOnly"));
            res.header(HeaderValues.create(HeaderNames.create("X-Upstream"), "yes"));
            res.send("cookies");
        });
        upstream.handle("/empty", (req, res) -> {
            res.status(Status.NO_CONTENT_204);
            res.send();
        });
        sidegate = SidegateFixture.start(null, Map.of("SIDEGATE_UPSTREAM", upstream.url()));
    }

    @AfterAll
    static void stop() {
        sidegate.close();
        upstream.close();
    }

    @Test
    void requestReachesUpstreamWithMethodPathQueryAndBodyUnchanged() {
        HttpResponse<String> response = SidegateFixture.send(HttpRequest.newBuilder(sidegate.uri("/orders/7?b=2&a=1&a=0&flag&enc=%20%2B%C3%A9"))
                                                                .header("X-Request-Tag", "t1")
                                                                .PUT(HttpRequest.BodyPublishers.ofString("{\"qty\":2}"))
                                                                .build());
        assertEquals(200, response.statusCode());
        assertEquals("{\"qty\":2}", response.body());
        TestUpstream.Recorded seen = upstream.last();
        assertEquals("PUT", seen.method());
        assertEquals("/orders/7", seen.rawPath());
        assertEquals("b=2&a=1&a=0&flag&enc=%20%2B%C3%A9", seen.rawQuery());
        assertEquals("t1", seen.header("X-Request-Tag").orElseThrow());
        assertEquals("{\"qty\":2}", seen.body());
    }

    @Test
    void requestLineGoesUpstreamByteForByte() throws Exception {
        try (RawUpstream raw = new RawUpstream("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
             SidegateFixture sg = SidegateFixture.start(null, Map.of("SIDEGATE_UPSTREAM", raw.url()))) {
            RawHttp.Response response = RawHttp.exchange(sg.port(),
                    "GET /a/b%20c/%C3%A9?x=1&y&x=2&q=a+b%26c HTTP/1.1\r\nHost: client.example\r\nConnection: close\r\n\r\n");
            assertEquals(200, response.status());
            String requestLine = raw.lastHead().split("\r\n")[0];
            assertEquals("GET /a/b%20c/%C3%A9?x=1&y&x=2&q=a+b%26c HTTP/1.1", requestLine);
        }
    }

    @Test
    void statusCodesHeadersAndBodiesComeBackUnchanged() {
        for (int code : new int[] {201, 400, 404, 418, 500, 503}) {
            HttpResponse<String> response = sidegate.get("/status/" + code);
            assertEquals(code, response.statusCode());
            assertEquals("status " + code, response.body());
            assertEquals("text/plain", response.headers().firstValue("Content-Type").orElseThrow());
        }
    }

    @Test
    void redirectsAreReturnedNotFollowed() {
        int before = upstream.count();
        HttpResponse<String> response = sidegate.get("/redirect");
        assertEquals(302, response.statusCode());
        assertEquals("/elsewhere", response.headers().firstValue("Location").orElseThrow());
        assertEquals(before + 1, upstream.count(), "only the original request reaches the upstream");
    }

    @Test
    void everySetCookieLineIsForwardedAndNoCookieIsKeptByTheProxy() {
        HttpResponse<String> response = sidegate.get("/cookies");
        assertEquals(java.util.List.of("a=1; Path=/", "b=2; Path=/; HttpOnly"), response.headers().allValues("Set-Cookie"));
        assertEquals("yes", response.headers().firstValue("X-Upstream").orElseThrow());
        sidegate.get("/after-cookies");
        assertTrue(upstream.last().header("Cookie").isEmpty(), "the upstream client must not replay cookies");
    }

    @Test
    void hopByHopRequestHeadersAreRemovedIncludingThoseNamedInConnection() throws Exception {
        RawHttp.Response response = RawHttp.exchange(sidegate.port(), """
                GET /hop HTTP/1.1\r
                Host: client.example\r
                Connection: close, X-Private-Hop\r
                X-Private-Hop: secret\r
                Keep-Alive: timeout=5\r
                TE: trailers\r
                Proxy-Authorization: Basic Zm9vOmJhcg==\r
                Proxy-Connection: keep-alive\r
                Upgrade: websocket\r
                X-End-To-End: kept\r
                \r
                """);
        assertEquals(200, response.status());
        TestUpstream.Recorded seen = upstream.last();
        for (String hop : new String[] {"X-Private-Hop", "Keep-Alive", "TE", "Proxy-Authorization", "Proxy-Connection", "Upgrade"}) {
            assertTrue(seen.header(hop).isEmpty(), hop + " must not reach the upstream");
        }
        assertFalse(seen.headers("Connection").contains("close, X-Private-Hop"));
        assertEquals("kept", seen.header("X-End-To-End").orElseThrow());
    }

    @Test
    void hopByHopResponseHeadersAreRemoved() throws Exception {
        try (RawUpstream raw = new RawUpstream("HTTP/1.1 200 OK\r\nConnection: close, X-Upstream-Hop\r\nX-Upstream-Hop: x\r\n"
                                                       + "Keep-Alive: timeout=9\r\nProxy-Authenticate: Basic\r\n"
                                                       + "TE: trailers\r\nTrailer: X-T\r\nPROXY-CONNECTION: keep-alive\r\n"
                                                       + "proxy-authorization: Basic eA==\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nok");
             SidegateFixture sg = SidegateFixture.start(null, Map.of("SIDEGATE_UPSTREAM", raw.url()))) {
            RawHttp.Response response = RawHttp.exchange(sg.port(), "GET / HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n");
            assertEquals(200, response.status());
            assertEquals("ok", response.text());
            assertEquals("yes", response.header("X-Kept").orElseThrow());
            for (String hop : new String[] {"X-Upstream-Hop", "Keep-Alive", "Proxy-Authenticate", "TE", "Trailer",
                                            "Proxy-Connection", "Proxy-Authorization"}) {
                assertTrue(response.header(hop).isEmpty(), hop + " must not reach the client");
            }
        }
    }

    @Test
    void aResponseThatAdvertisesAnUpgradeKeepsItsBodyAndLosesTheUpgrade() throws Exception {
        // Apache httpd with h2c enabled sends Upgrade: h2,h2c on every response; the body must still arrive.
        try (RawUpstream raw = new RawUpstream("HTTP/1.1 200 OK\r\nUpgrade: h2,h2c\r\nConnection: Upgrade\r\n"
                                                       + "Content-Length: 5\r\n\r\nhello");
             SidegateFixture sg = SidegateFixture.start(null, Map.of("SIDEGATE_UPSTREAM", raw.url()))) {
            RawHttp.Response response = RawHttp.exchange(sg.port(), "GET / HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n");
            assertEquals(200, response.status());
            assertEquals("hello", response.text());
            assertTrue(response.header("Upgrade").isEmpty(), "Upgrade is hop-by-hop");
        }
    }

    @Test
    void forwardedHeadersAreSetAndSpoofedOnesFromAnUntrustedPeerAreReplaced() throws Exception {
        RawHttp.exchange(sidegate.port(), """
                GET /who HTTP/1.1\r
                Host: shop.example:8443\r
                X-Forwarded-For: 6.6.6.6\r
                X-Forwarded-Proto: https\r
                X-Forwarded-Host: evil.example\r
                X-Real-IP: 6.6.6.6\r
                Forwarded: for=6.6.6.6\r
                Connection: close\r
                \r
                """);
        TestUpstream.Recorded seen = upstream.last();
        assertEquals(java.util.List.of("127.0.0.1"), seen.headers("X-Forwarded-For"));
        assertEquals("http", seen.header("X-Forwarded-Proto").orElseThrow());
        assertEquals("shop.example:8443", seen.header("X-Forwarded-Host").orElseThrow());
        assertTrue(seen.header("X-Real-IP").isEmpty());
        assertTrue(seen.header("Forwarded").isEmpty());
        assertEquals("127.0.0.1:" + upstream.port(), seen.header("Host").orElseThrow(), "Host is the upstream's authority");
    }

    @Test
    void aTrustedProxysForwardingHeadersAreExtended() throws Exception {
        try (SidegateFixture sg = SidegateFixture.start(null, Map.of("SIDEGATE_UPSTREAM", upstream.url(),
                                                                    "SIDEGATE_TRUSTED_PROXIES", "127.0.0.0/8, 10.0.0.0/8"))) {
            RawHttp.exchange(sg.port(), """
                    GET /via-lb HTTP/1.1\r
                    Host: internal:8000\r
                    X-Forwarded-For: 203.0.113.7, 10.1.2.3\r
                    X-Forwarded-Proto: https\r
                    X-Forwarded-Host: shop.example\r
                    Connection: close\r
                    \r
                    """);
            TestUpstream.Recorded seen = upstream.last();
            assertEquals("203.0.113.7, 10.1.2.3, 127.0.0.1", seen.header("X-Forwarded-For").orElseThrow());
            assertEquals("https", seen.header("X-Forwarded-Proto").orElseThrow());
            assertEquals("shop.example", seen.header("X-Forwarded-Host").orElseThrow());
        }
    }

    @Test
    void headResponsesKeepTheirLengthWithoutABody() throws Exception {
        RawHttp.Response response = RawHttp.exchange(sidegate.port(),
                                                     "HEAD /bytes?n=1234 HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n");
        assertEquals(200, response.status());
        assertEquals("1234", response.header("Content-Length").orElseThrow());
        assertEquals(0, response.body().length);
        assertEquals("HEAD", upstream.last().method());
    }

    @Test
    void noContentResponsesHaveNoBody() {
        HttpResponse<String> response = sidegate.get("/empty");
        assertEquals(204, response.statusCode());
        assertEquals("", response.body());
    }

    @Test
    void clientConnectionsStayOpenAndUpstreamConnectionsArePooled() throws Exception {
        try (RawHttp client = new RawHttp(sidegate.port())) {
            int before = upstream.count();
            for (int i = 0; i < 3; i++) {
                client.send("GET /keepalive/" + i + " HTTP/1.1\r\nHost: c\r\n\r\n");
                RawHttp.Response response = client.read(true);
                assertEquals(200, response.status());
                assertFalse(response.header("Connection").map(v -> v.equalsIgnoreCase("close")).orElse(false));
            }
            var seen = upstream.requests().subList(before, before + 3);
            assertEquals(1, seen.stream().map(TestUpstream.Recorded::peerPort).distinct().count(),
                         "sequential requests reuse one pooled upstream connection");
        }
    }

    @Test
    void expectContinueIsAnsweredBySidegateAndNotForwarded() throws Exception {
        try (RawHttp client = new RawHttp(sidegate.port())) {
            client.send("POST /upload HTTP/1.1\r\nHost: c\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
            RawHttp.Response interim = client.read(false);
            assertEquals(100, interim.status());
            client.send("hello");
            RawHttp.Response response = client.read(true);
            assertEquals(200, response.status());
            assertEquals("hello", response.text());
        }
        assertTrue(upstream.last().header("Expect").isEmpty());
    }

    @Test
    void encodedBodiesPassThroughStillEncodedInBothDirections() throws Exception {
        byte[] gzipped = gzip("compressed payload");
        upstream.handle("/gzip", (req, res) -> {
            byte[] body = req.content().inputStream().readAllBytes();
            res.header(HeaderValues.create(HeaderNames.CONTENT_ENCODING, "gzip"));
            res.header(HeaderValues.create(HeaderNames.create("X-Request-Encoding"),
                                           req.headers().first(HeaderNames.CONTENT_ENCODING).orElse("none")));
            res.send(body);
        });
        HttpResponse<byte[]> response = SidegateFixture.http().send(
                HttpRequest.newBuilder(sidegate.uri("/gzip"))
                        .header("Content-Encoding", "gzip")
                        .header("Accept-Encoding", "gzip")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(gzipped))
                        .build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, response.statusCode(), new String(response.body(), java.nio.charset.StandardCharsets.UTF_8));
        assertEquals("gzip", response.headers().firstValue("X-Request-Encoding").orElseThrow());
        assertEquals("gzip", response.headers().firstValue("Content-Encoding").orElseThrow());
        assertArrayEquals(gzipped, response.body(), "bytes arrive exactly as sent, neither decoded nor re-encoded");
    }

    private static byte[] gzip(String text) throws java.io.IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try (java.util.zip.GZIPOutputStream gz = new java.util.zip.GZIPOutputStream(out)) {
            gz.write(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        return out.toByteArray();
    }

    @Test
    void aMissingUserAgentStaysMissing() throws Exception {
        RawHttp.exchange(sidegate.port(), "GET /no-agent HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n");
        assertTrue(upstream.last().header("User-Agent").isEmpty(), "Sidegate must not add a User-Agent");
    }
}
