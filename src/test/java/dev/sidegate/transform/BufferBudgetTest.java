package dev.sidegate.transform;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidegate.config.ConfigException;
import dev.sidegate.testing.Meters;
import dev.sidegate.testing.RawHttp;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Sidegate-wide bound on bodies held by transforms ({@code server.max_buffered_body_bytes}), through the real
 * server: a body that does not fit is refused with 503 before it is read, and the bytes come back when the held
 * body is done.
 */
class BufferBudgetTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ROUTES = """
            server:
              max_buffered_body_bytes: 4096
            routes:
              - path: /held
                transform:
                  request:
                    body: '.'
              - path: /answers
                transform:
                  response:
                    body: '.'
            """;

    private static TestUpstream upstream;
    private static SidegateFixture sidegate;
    private static volatile CountDownLatch arrived;
    private static volatile CountDownLatch release;

    @BeforeAll
    static void start() {
        upstream = TestUpstream.start();
        sidegate = SidegateFixture.start(ROUTES, Map.of("SIDEGATE_UPSTREAM", upstream.url()));
        upstream.handle("/held", (req, res) -> {
            req.content().consume();
            arrived.countDown();
            if (!release.await(20, TimeUnit.SECONDS)) {
                throw new IllegalStateException("never released");
            }
            res.send("held");
        });
        upstream.handle("/answers", (req, res) -> {
            int size = Integer.parseInt(req.query().get("size"));
            res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "application/json"));
            res.send(json(size).getBytes(StandardCharsets.UTF_8));
        });
    }

    @AfterAll
    static void stop() {
        sidegate.close();
        upstream.close();
    }

    /** A JSON document of exactly {@code size} bytes. */
    private static String json(int size) {
        return "{\"pad\":\"" + "x".repeat(size - 10) + "\"}";
    }

    private static HttpResponse<String> post(String path, int size) {
        return SidegateFixture.send(HttpRequest.newBuilder(sidegate.uri(path)).header("Content-Type", "application/json")
                                            .POST(HttpRequest.BodyPublishers.ofString(json(size))).build());
    }

    private static JsonNode problem(HttpResponse<String> response) throws Exception {
        assertEquals("application/problem+json", response.headers().firstValue("Content-Type").orElseThrow());
        return JSON.readTree(response.body());
    }

    @Test
    void aBodyThatDoesNotFitBesideTheHeldOnesIs503UntilTheyAreDone() throws Exception {
        arrived = new CountDownLatch(1);
        release = new CountDownLatch(1);
        CompletableFuture<HttpResponse<String>> first = CompletableFuture.supplyAsync(() -> post("/held", 3000));
        assertTrue(arrived.await(20, TimeUnit.SECONDS), "the first body reached the upstream");
        assertEquals(3000, Meters.value(sidegate, "sidegate_buffered_body_bytes"), "the held body is counted while the upstream works");
        int before = upstream.count();

        HttpResponse<String> refused = post("/held", 2000);
        assertEquals(503, refused.statusCode());
        assertEquals("urn:sidegate:problem:body-buffers-full", problem(refused).get("type").asText());
        assertEquals("1", refused.headers().firstValue("Retry-After").orElseThrow());
        String chunked = "POST /held HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                + "Connection: close\r\n\r\n7d0\r\n" + json(2000) + "\r\n0\r\n\r\n";
        assertEquals(503, RawHttp.exchange(sidegate.port(), chunked).status(), "a body of unknown length is refused as it outgrows the room");
        assertEquals(before, upstream.count(), "a refused body never reaches the upstream");

        release.countDown();
        assertEquals(200, first.get(20, TimeUnit.SECONDS).statusCode());
        arrived = new CountDownLatch(1);
        assertEquals(200, post("/held", 2000).statusCode(), "the bytes came back when the first exchange was done");
        assertEquals(0, Meters.value(sidegate, "sidegate_buffered_body_bytes"));
    }

    @Test
    void aResponseLargerThanTheWholeBudgetIs503AndTheNextOneFits() throws Exception {
        HttpResponse<String> refused = sidegate.get("/answers?size=5000");
        assertEquals(503, refused.statusCode());
        assertEquals("urn:sidegate:problem:body-buffers-full", problem(refused).get("type").asText());

        HttpResponse<String> fits = sidegate.get("/answers?size=3000");
        assertEquals(200, fits.statusCode());
        assertEquals(json(3000), fits.body());
        assertEquals(0, Meters.value(sidegate, "sidegate_buffered_body_bytes"), "the client has the body: nothing is held");
    }

    @Test
    void theBudgetDefaultsToASixteenthOfTheHeapAndASmallOneFailsTheLoad() throws Exception {
        try (SidegateFixture defaults = SidegateFixture.start("routes:\n  - path: /\n", Map.of("SIDEGATE_UPSTREAM", upstream.url()))) {
            JsonNode server = JSON.readTree(defaults.admin("/admin/config").body()).get("server");
            assertEquals(Math.max(1 << 20, Runtime.getRuntime().maxMemory() / 16), server.get("max_buffered_body_bytes").asLong());
        }
        assertEquals("server.max_buffered_body_bytes", assertThrows(ConfigException.class, () -> SidegateFixture.start(
                "server:\n  max_buffered_body_bytes: 100\n", Map.of("SIDEGATE_UPSTREAM", upstream.url()))).key());
    }
}
