package dev.sidegate.proxy;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidegate.testing.Await;
import dev.sidegate.testing.Meters;
import dev.sidegate.testing.RawHttp;
import dev.sidegate.testing.RawUpstream;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every kind of bad input and upstream failure gets its status and problem body, and the server keeps serving. */
class LimitsAndErrorsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static TestUpstream upstream;
    private static int closedPort;
    private static SidegateFixture sidegate;

    @BeforeAll
    static void start() throws Exception {
        upstream = TestUpstream.start();
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort(); // nothing listens here once closed
        }
        sidegate = SidegateFixture.start("""
                server:
                  max_header_size: 2048
                  max_request_line: 512
                  header_timeout: 300ms
                routes:
                  - path: /down
                    upstream: http://127.0.0.1:%d
                  - path: /slow
                    timeout: 300ms
                  - path: /
                """.formatted(closedPort), Map.of("SIDEGATE_UPSTREAM", upstream.url()));
    }

    @AfterEach
    void stillServing() {
        assertEquals(200, sidegate.get("/healthy-after").statusCode(), "the server must keep serving");
    }

    @AfterAll
    static void stop() {
        sidegate.close();
        upstream.close();
    }

    private static JsonNode problem(RawHttp.Response response) throws Exception {
        assertEquals("application/problem+json", response.header("Content-Type").orElseThrow());
        JsonNode json = JSON.readTree(response.body());
        assertEquals(response.status(), json.get("status").asInt());
        assertTrue(json.get("trace_id").asText().matches("[0-9a-f]{32}"), json.toString());
        return json;
    }

    @Test
    void oversizedHeadersAre431() throws Exception {
        RawHttp.Response response = RawHttp.exchange(sidegate.port(), "GET /x HTTP/1.1\r\nHost: c\r\nX-Big: "
                + "a".repeat(3000) + "\r\nConnection: close\r\n\r\n");
        assertEquals(431, response.status());
        assertEquals("HTTP/1.1 431 Request Header Fields Too Large", response.statusLine());
        assertEquals("urn:sidegate:problem:headers-too-large", problem(response).get("type").asText());
    }

    @Test
    void aStalledUploadIsAnswered408AndFreesItsSlot() throws Exception {
        try (dev.sidegate.testing.ScriptedUpstream stub = dev.sidegate.testing.ScriptedUpstream.ok("ok");
             SidegateFixture sg = SidegateFixture.start("""
                server:
                  body_timeout: 3s   # wide: the probe below must run while both uploads still hold their slots
                upstreams:
                  default:
                    max_concurrent: 2
                """, Map.of("SIDEGATE_UPSTREAM", stub.url()));
             RawHttp first = new RawHttp(sg.port());
             RawHttp second = new RawHttp(sg.port())) {
            for (RawHttp stalled : new RawHttp[] {first, second}) {
                stalled.send("POST /upload HTTP/1.1\r\nHost: c\r\nContent-Length: 100\r\n\r\nonly5");
            }
            // An admitted upload opens its upstream connection; probing before both are admitted could take a slot
            // from the second upload (which would then be answered 503), so wait for the two connections first.
            Await.until(() -> stub.connections() == 2, "both uploads admitted, each on an upstream connection");
            assertEquals("503", sidegate(sg, "/probe"), "both slots are held by the stalled uploads");
            for (RawHttp stalled : new RawHttp[] {first, second}) {
                RawHttp.Response response = stalled.read(true);
                assertEquals(408, response.status());
                assertEquals("HTTP/1.1 408 Request Timeout", response.statusLine());
                JsonNode problem = problem(response);
                assertEquals("urn:sidegate:problem:request-body-timeout", problem.get("type").asText());
                assertEquals("the client sent no request body bytes for 3s", problem.get("detail").asText());
                assertTrue(stalled.closedByServer());
            }
            assertEquals("200", sidegate(sg, "/after"), "the slots are free again");
        }
    }

    @Test
    void theDefaultConnectionCapIsWhatTheHeapCanHold() throws Exception {
        assertEquals(384, ConnectionLimits.defaultMaxTotal(24L << 20));
        assertEquals(768, ConnectionLimits.defaultMaxTotal(48L << 20));
        assertEquals(1024, ConnectionLimits.defaultMaxTotal(64L << 20));
        assertEquals(1024, ConnectionLimits.defaultMaxTotal(1L << 30), "never more than 1,024 by default");
        assertEquals(64, ConnectionLimits.defaultMaxTotal(1L << 20), "never fewer than 64");
        JsonNode server = JSON.readTree(sidegate.admin("/admin/config").body()).get("server");
        assertEquals(ConnectionLimits.defaultMaxTotal(Runtime.getRuntime().maxMemory()), server.get("max_connections").asInt(),
                     "the running Sidegate's cap, from this JVM's heap");
        assertEquals(256, server.get("max_connections_per_ip").asInt());
    }

    @Test
    void connectionsOverTheCapsAreClosedAtAcceptAndTrustedProxiesCountOnlyTowardsTheTotal() throws Exception {
        String yaml = """
                server:
                  max_connections: 5
                  max_connections_per_ip: 3
                """;
        try (SidegateFixture sg = SidegateFixture.start(yaml, Map.of("SIDEGATE_UPSTREAM", upstream.url()))) {
            java.util.List<RawHttp> held = new java.util.ArrayList<>();
            long perIpBefore = Meters.value(sg, "sidegate_connections_refused_total", "reason=\"per_ip\"");
            try {
                for (int i = 0; i < 3; i++) {
                    held.add(keepAlive(sg));
                }
                try (RawHttp refused = new RawHttp(sg.port())) {
                    refused.send("GET /x HTTP/1.1\r\nHost: c\r\n\r\n");
                    assertTrue(refused.closedByServer(), "a fourth connection from one address is closed at once");
                }
                assertEquals(perIpBefore + 1, Meters.value(sg, "sidegate_connections_refused_total", "reason=\"per_ip\""),
                             "counted by reason");
                held.remove(0).close();
                Await.until(() -> {
                    try (RawHttp again = new RawHttp(sg.port())) {
                        again.send("GET /again HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n");
                        return again.read(true).status() == 200;
                    } catch (java.io.IOException e) {
                        return false;
                    }
                }, "a closed connection frees its place");
            } finally {
                for (RawHttp h : held) {
                    h.close();
                }
            }
        }
        try (SidegateFixture sg = SidegateFixture.start(yaml, Map.of("SIDEGATE_UPSTREAM", upstream.url(),
                                                                    "SIDEGATE_TRUSTED_PROXIES", "127.0.0.1"))) {
            java.util.List<RawHttp> held = new java.util.ArrayList<>();
            long totalBefore = Meters.value(sg, "sidegate_connections_refused_total", "reason=\"total\"");
            try {
                for (int i = 0; i < 5; i++) {
                    held.add(keepAlive(sg)); // a trusted proxy may hold more than the per-address cap
                }
                try (RawHttp refused = new RawHttp(sg.port())) {
                    refused.send("GET /x HTTP/1.1\r\nHost: c\r\n\r\n");
                    assertTrue(refused.closedByServer(), "the sixth connection is over the total");
                }
                assertEquals(totalBefore + 1, Meters.value(sg, "sidegate_connections_refused_total", "reason=\"total\""));
            } finally {
                for (RawHttp h : held) {
                    h.close();
                }
            }
        }
    }

    /** A client connection that has been admitted: one request answered on it, kept open. */
    private static RawHttp keepAlive(SidegateFixture sg) throws java.io.IOException {
        RawHttp client = new RawHttp(sg.port());
        client.send("GET /held HTTP/1.1\r\nHost: c\r\n\r\n");
        assertEquals(200, client.read(true).status());
        return client;
    }

    @Test
    void aClientThatStopsReadingItsResponseIsCutAndFreesItsSlot() throws Exception {
        try (SidegateFixture sg = SidegateFixture.start("""
                server:
                  body_timeout: 2s
                upstreams:
                  default:
                    max_concurrent: 1
                """, Map.of("SIDEGATE_UPSTREAM", upstream.url()));
             RawHttp reader = new RawHttp(sg.port())) {
            reader.send("GET /bytes?n=200000000 HTTP/1.1\r\nHost: c\r\n\r\n");
            // Its head has arrived, so it holds the slot (a probe sent sooner could take the slot first); the body is never read.
            assertEquals(200, reader.read(false).status());
            Await.until(() -> sidegate(sg, "/probe").equals("503"), "the slow reader holds the only slot");
            Await.until(() -> sidegate(sg, "/probe").equals("200"), "the send timeout cuts it and frees the slot");
        }
    }

    private static String sidegate(SidegateFixture sg, String path) {
        return Integer.toString(sg.get(path).statusCode());
    }

    @Test
    void aControlCharacterInTheMethodIs400WithoutAStackTraceInTheLog() throws Exception {
        java.util.List<java.util.logging.LogRecord> withThrowable = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler handler = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord record) {
                if (record.getThrown() != null) {
                    withThrowable.add(record);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        root.addHandler(handler);
        try {
            for (String method : new String[] {"G\u0001ET", "GE\u007fT", "P\tOST"}) {
                RawHttp.Response response = RawHttp.exchange(sidegate.port(), method + " /x HTTP/1.1\r\nHost: c\r\n\r\n");
                assertEquals(400, response.status(), method);
                assertEquals("urn:sidegate:problem:bad-request", problem(response).get("type").asText());
            }
        } finally {
            root.removeHandler(handler);
        }
        assertEquals(java.util.List.of(), withThrowable.stream().map(r -> r.getLoggerName() + ": " + r.getMessage()).toList(),
                     "a malformed request is the client's mistake: no stack trace in the log");
    }

    @Test
    void aRequestThatSaysConnectionCloseIsTheLastOneServedOnItsConnection() throws Exception {
        for (String first : new String[] {
                "GET /a HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n",
                "POST /a HTTP/1.1\r\nHost: c\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"}) {
            int before = upstream.count();
            try (RawHttp client = new RawHttp(sidegate.port())) {
                client.send(first + "GET /pipelined HTTP/1.1\r\nHost: c\r\n\r\n");
                RawHttp.Response response = client.read(true);
                assertEquals(200, response.status());
                assertEquals("close", response.header("Connection").orElse(""));
                assertTrue(client.closedByServer(), "the connection closes after the response: " + first);
            }
            assertEquals(before + 1, upstream.count(), "the pipelined request is not processed");
            assertEquals("/a", upstream.last().rawPath());
        }
    }

    @Test
    void anOversizedRequestLineIs414() throws Exception {
        RawHttp.Response response = RawHttp.exchange(sidegate.port(), "GET /" + "a".repeat(1000)
                + " HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n");
        assertEquals(414, response.status());
        assertEquals("urn:sidegate:problem:request-line-too-long", problem(response).get("type").asText());
    }

    @Test
    void contentLengthWithTransferEncodingIsRefused() throws Exception {
        int before = upstream.count();
        RawHttp.Response response = RawHttp.exchange(sidegate.port(), "POST /smuggle HTTP/1.1\r\nHost: c\r\n"
                + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: c\r\n\r\n");
        assertEquals(400, response.status());
        assertTrue(problem(response).get("detail").asText().contains("must not be combined"));
        assertEquals(before, upstream.count(), "neither request reaches the upstream");
    }

    @Test
    void conflictingContentLengthsAreRefused() throws Exception {
        int before = upstream.count();
        RawHttp.Response response = RawHttp.exchange(sidegate.port(), "POST /smuggle HTTP/1.1\r\nHost: c\r\n"
                + "Content-Length: 4\r\nContent-Length: 40\r\nConnection: close\r\n\r\nabcd");
        assertEquals(400, response.status());
        problem(response);
        assertEquals(before, upstream.count());
    }

    @Test
    void aMalformedHeaderLineIs400() throws Exception {
        RawHttp.Response response = RawHttp.exchange(sidegate.port(), "GET /x HTTP/1.1\r\nHost: c\r\nno colon here\r\n\r\n");
        assertEquals(400, response.status());
        problem(response);
    }

    @Test
    void http10IsAnswered505() throws Exception {
        RawHttp.Response response = RawHttp.exchange(sidegate.port(), "GET /x HTTP/1.0\r\nHost: c\r\n\r\n");
        assertEquals(505, response.status());
        problem(response);
    }

    @Test
    void aClientThatStallsInTheHeadersIsDisconnected() throws Exception {
        try (RawHttp client = new RawHttp(sidegate.port())) {
            client.soTimeout(10_000);
            client.send("GET /x HTTP/1.1\r\nHost: c\r\nX-Slow: ");
            assertTrue(client.closedByServer(), "the header timeout must close the connection");
        }
    }

    @Test
    void nothingIsServedAfterAChunkedRequestSoALenientChunkParseCannotSmuggleARequest() throws Exception {
        // Helidon 4.5 accepts "XX" where the CRLF after a chunk's data belongs; a front proxy might end this body
        // elsewhere. Whatever follows on the connection is never processed.
        String smuggle = "POST /first HTTP/1.1\r\nHost: c\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "2\r\nhiXX0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: c\r\n\r\n";
        int before = upstream.count();
        try (RawHttp client = new RawHttp(sidegate.port())) {
            client.send(smuggle);
            RawHttp.Response response = client.read(true);
            assertEquals("close", response.header("Connection").orElse(""));
            assertTrue(client.closedByServer());
        }
        assertTrue(upstream.requests().subList(before, upstream.count()).stream().noneMatch(r -> r.rawPath().equals("/smuggled")),
                   "the request behind the chunked body never reached the upstream");

        try (SidegateFixture lenient = SidegateFixture.start("server:\n  after_chunked_request: keep_alive\n",
                                                             Map.of("SIDEGATE_UPSTREAM", upstream.url()));
             RawHttp client = new RawHttp(lenient.port())) {
            client.send("POST /chunked HTTP/1.1\r\nHost: c\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
                                + "GET /next HTTP/1.1\r\nHost: c\r\n\r\n");
            assertEquals(200, client.read(true).status());
            assertEquals(200, client.read(true).status(), "keep_alive is an explicit loosening");
            assertEquals("/next", upstream.last().rawPath());
        }
    }

    @Test
    void aBrokenChunkedBodyIs400AndNotBlamedOnTheUpstream() throws Exception {
        RawHttp.Response response = RawHttp.exchange(sidegate.port(), "POST /x HTTP/1.1\r\nHost: c\r\n"
                + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
        assertEquals(400, response.status());
        problem(response);
    }

    @Test
    void anUnreachableUpstreamIs502() throws Exception {
        RawHttp.Response response = RawHttp.exchange(sidegate.port(), "GET /down/x HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n");
        assertEquals(502, response.status());
        JsonNode problem = problem(response);
        assertEquals("urn:sidegate:problem:upstream-unreachable", problem.get("type").asText());
        assertEquals("cannot connect to the upstream of route /down (2 attempts)", problem.get("detail").asText(),
                     "a GET is retried once after a refused connection");
    }

    @Test
    void aSlowUpstreamIs504AtTheRouteTimeout() throws Exception {
        RawHttp.Response response = RawHttp.exchange(sidegate.port(), "GET /slow?ms=3000 HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n");
        assertEquals(504, response.status());
        JsonNode problem = problem(response);
        assertEquals("urn:sidegate:problem:upstream-timeout", problem.get("type").asText());
        assertEquals("the upstream of route /slow did not respond within 300ms", problem.get("detail").asText());
    }

    @Test
    void anUpstreamThatDiesMidBodyCutsTheClientConnection() throws Exception {
        // 40,000 bytes declared, 20,000 sent: over the whole-body limit, so the head and first bytes are on their way.
        try (RawUpstream raw = new RawUpstream("HTTP/1.1 200 OK\r\nContent-Length: 40000\r\n\r\n" + "x".repeat(20_000));
             SidegateFixture sg = SidegateFixture.start(null, Map.of("SIDEGATE_UPSTREAM", raw.url()))) {
            try (RawHttp client = new RawHttp(sg.port())) {
                client.send("GET / HTTP/1.1\r\nHost: c\r\n\r\n");
                RawHttp.Response response = client.read(true);
                assertEquals(200, response.status());
                assertTrue(response.body().length < 40_000, "the client must not see a complete body");
                assertTrue(client.closedByServer(), "the connection must be cut so the client knows");
            }
        }
    }

    @Test
    void aSmallBodyTheUpstreamDoesNotFinishIsA502BeforeAnyByteIsSent() throws Exception {
        try (RawUpstream raw = new RawUpstream("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
             SidegateFixture sg = SidegateFixture.start(null, Map.of("SIDEGATE_UPSTREAM", raw.url()))) {
            RawHttp.Response response = RawHttp.exchange(sg.port(), "GET / HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n");
            assertEquals(502, response.status(), "a body of up to 16 KiB is read whole before the response starts");
            assertEquals("urn:sidegate:problem:upstream-failed", problem(response).get("type").asText());
            assertFalse(new String(response.body(), java.nio.charset.StandardCharsets.ISO_8859_1).contains("only ten b"));
        }
    }
}
