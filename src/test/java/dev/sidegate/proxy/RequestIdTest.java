package dev.sidegate.proxy;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One id per request: the client, the upstream and every problem body see the same one. */
class RequestIdTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String UUID = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";
    private static TestUpstream upstream;

    @BeforeAll
    static void start() {
        upstream = TestUpstream.start();
        upstream.handle("/echoes", (req, res) -> {
            res.header(HeaderValues.create(HeaderNames.create("X-Request-Id"), "the-upstreams-own"));
            res.send("echoed");
        });
    }

    @AfterAll
    static void stop() {
        upstream.close();
    }

    private static HttpResponse<String> get(SidegateFixture sg, String path, String requestId) {
        HttpRequest.Builder b = HttpRequest.newBuilder(sg.uri(path));
        if (requestId != null) {
            b.header("X-Request-Id", requestId);
        }
        return SidegateFixture.send(b.build());
    }

    @Test
    void aRequestWithoutAnIdGetsAFreshUuidThatTheUpstreamAndTheClientShare() {
        try (SidegateFixture sg = SidegateFixture.start(null, Map.of("SIDEGATE_UPSTREAM", upstream.url()))) {
            HttpResponse<String> first = get(sg, "/a", null);
            String id = first.headers().firstValue("X-Request-Id").orElseThrow();
            assertTrue(id.matches(UUID), id);
            assertEquals(id, upstream.last().header("X-Request-Id").orElseThrow());
            String second = get(sg, "/b", null).headers().firstValue("X-Request-Id").orElseThrow();
            assertNotEquals(id, second, "one id per request");
        }
    }

    @Test
    void anUntrustedClientsIdIsReplacedEvenWhenItLooksSane() {
        try (SidegateFixture sg = SidegateFixture.start(null, Map.of("SIDEGATE_UPSTREAM", upstream.url()))) {
            HttpResponse<String> response = get(sg, "/a", "chosen-by-the-client");
            String id = response.headers().firstValue("X-Request-Id").orElseThrow();
            assertTrue(id.matches(UUID), id);
            assertEquals(java.util.List.of(id), upstream.last().headers("X-Request-Id"), "the client's value is gone");
        }
    }

    @Test
    void aTrustedProxysSaneIdIsKeptEndToEndAndAnInsaneOneReplaced() throws Exception {
        try (SidegateFixture sg = SidegateFixture.start("server:\n  trusted_proxies: [127.0.0.1/32]\n",
                                                        Map.of("SIDEGATE_UPSTREAM", upstream.url()))) {
            String kept = "01J9ZQ8Y7K-front.proxy:42/abc+def=";
            HttpResponse<String> ok = get(sg, "/a", kept);
            assertEquals(kept, ok.headers().firstValue("X-Request-Id").orElseThrow());
            assertEquals(kept, upstream.last().header("X-Request-Id").orElseThrow());

            for (String insane : new String[] {"x".repeat(RequestIds.MAX_LENGTH + 1), "has space", "quote\"d", "<script>"}) {
                HttpResponse<String> replaced = get(sg, "/a", insane);
                String id = replaced.headers().firstValue("X-Request-Id").orElseThrow();
                assertTrue(id.matches(UUID), insane + " -> " + id);
                assertEquals(id, upstream.last().header("X-Request-Id").orElseThrow());
            }
            HttpResponse<String> notFound = get(sg, "/a%2Fb", kept);
            assertEquals(400, notFound.statusCode());
            assertEquals(kept, JSON.readTree(notFound.body()).get("request_id").asText(), "problems carry it too");
        }
    }

    @Test
    void everyProblemBodyCarriesTheIdOfItsResponse() throws Exception {
        try (SidegateFixture sg = SidegateFixture.start("routes:\n  - path: /api\n    methods: [GET]\n",
                                                        Map.of("SIDEGATE_UPSTREAM", upstream.url()))) {
            for (HttpResponse<String> problem : new HttpResponse[] {
                    get(sg, "/nowhere", null),
                    SidegateFixture.send(HttpRequest.newBuilder(sg.uri("/api/x")).DELETE().build())}) {
                assertTrue(problem.statusCode() == 404 || problem.statusCode() == 405, problem.body());
                assertEquals(problem.headers().firstValue("X-Request-Id").orElseThrow(),
                             JSON.readTree(problem.body()).get("request_id").asText());
            }
        }
    }

    @Test
    void anUpstreamThatEchoesTheIdDoesNotMakeItTwoValues() {
        try (SidegateFixture sg = SidegateFixture.start(null, Map.of("SIDEGATE_UPSTREAM", upstream.url()))) {
            HttpResponse<String> response = get(sg, "/echoes", null);
            assertEquals("echoed", response.body());
            java.util.List<String> ids = response.headers().allValues("X-Request-Id");
            assertEquals(1, ids.size(), ids.toString());
            assertFalse(ids.get(0).equals("the-upstreams-own"), "Sidegate's id is the one the client sees");
        }
    }

    @Test
    void theHeaderNameIsConfigurable() {
        try (SidegateFixture sg = SidegateFixture.start("server:\n  request_id_header: X-Correlation-Id\n",
                                                        Map.of("SIDEGATE_UPSTREAM", upstream.url()))) {
            HttpResponse<String> response = get(sg, "/a", null);
            String id = response.headers().firstValue("X-Correlation-Id").orElseThrow();
            assertEquals(id, upstream.last().header("X-Correlation-Id").orElseThrow());
            assertFalse(response.headers().firstValue("X-Request-Id").isPresent());
        }
    }

    @Test
    void hexDigitsAreThoseOfHexFormat() {
        java.util.HexFormat hex = java.util.HexFormat.of();
        java.util.Random random = new java.util.Random(7);
        for (long value : new long[] {0, 1, -1, Long.MIN_VALUE, Long.MAX_VALUE, 0x0123_4567_89ab_cdefL}) {
            assertEquals(hex.toHexDigits(value), TraceIds.hex(value));
        }
        for (int i = 0; i < 1000; i++) {
            long value = random.nextLong();
            assertEquals(hex.toHexDigits(value), TraceIds.hex(value));
        }
        String trace = TraceIds.random();
        assertTrue(trace.matches("[0-9a-f]{32}") && !trace.equals("0".repeat(32)), trace);
    }

    @Test
    void idsAreVersionFourUuids() {
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int i = 0; i < 1000; i++) {
            String id = RequestIds.generate();
            assertTrue(id.matches(UUID), id);
            java.util.UUID parsed = java.util.UUID.fromString(id);
            assertEquals(4, parsed.version());
            assertEquals(2, parsed.variant());
            assertEquals(id, parsed.toString());
            assertTrue(seen.add(id));
        }
        assertTrue(RequestIds.sane("a"));
        assertFalse(RequestIds.sane(""));
        assertFalse(RequestIds.sane("é"));
    }
}
