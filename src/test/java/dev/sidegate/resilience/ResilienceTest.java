package dev.sidegate.resilience;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidegate.testing.Await;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import io.helidon.http.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Circuit breakers, timeouts, retries and bulkheads, against real upstreams that fail on command. */
class ResilienceTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TestUpstream a;
    private TestUpstream b;
    private final AtomicReference<String> mode = new AtomicReference<>("ok");
    private final AtomicReference<CountDownLatch> gate = new AtomicReference<>(new CountDownLatch(0));
    private int closedPort;
    private SidegateFixture sidegate;

    @BeforeEach
    void start() throws IOException {
        a = TestUpstream.start();
        b = TestUpstream.start();
        a.handle("/a", (req, res) -> {
            switch (mode.get()) {
                case "500" -> res.status(Status.INTERNAL_SERVER_ERROR_500).send("broken");
                case "slow" -> {
                    Thread.sleep(400); // the stub plays a slow upstream
                    res.send("slow but fine");
                }
                case "slow500" -> {
                    Thread.sleep(300); // the stub plays a slow, failing upstream
                    res.status(Status.INTERNAL_SERVER_ERROR_500).send("still broken");
                }
                case "gate" -> {
                    gate.get().await(20, TimeUnit.SECONDS);
                    res.send("released");
                }
                default -> res.send("fine");
            }
        });
        a.handle("/timeout", (req, res) -> {
            Thread.sleep(2000); // the stub plays an upstream slower than the route's 300ms timeout
            res.send("too late");
        });
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        sidegate = SidegateFixture.start("""
                upstreams:
                  a:
                    url: %s
                    max_concurrent: 2
                    circuit_breaker:
                      window_size: 4
                      minimum_calls: 4
                      failure_rate: 50
                      slow_call_duration: 200ms
                      slow_call_rate: 50
                      wait_in_open: 1s
                      half_open_calls: 2
                  b:
                    url: %s
                routes:
                  - path: /a
                    upstream: a
                    timeout: 2s
                  - path: /timeout
                    upstream: a
                    timeout: 300ms
                  - path: /b
                    upstream: b
                  - path: /down
                    upstream: http://127.0.0.1:%d
                    connect_timeout: 1s
                  - path: /hurry
                    upstream: http://127.0.0.1:%d
                    timeout: 300ms
                    retry:
                      backoff: 1s
                """.formatted(a.url(), b.url(), closedPort, closedPort), Map.of());
    }

    @AfterEach
    void stop() {
        gate.get().countDown();
        sidegate.close();
        a.close();
        b.close();
    }

    private HttpResponse<String> get(String path) {
        return sidegate.get(path);
    }

    private String circuit(String upstream) throws IOException {
        return JSON.readTree(sidegate.admin("/admin/upstreams").body()).get(upstream).get("circuit").asText();
    }

    private void openCircuitWithFailures() throws IOException {
        mode.set("500");
        for (int i = 0; i < 4; i++) {
            assertEquals(500, get("/a/x").statusCode(), "the upstream's own 500 is passed through");
        }
        assertEquals("open", circuit("a"));
    }

    @Test
    void failuresOpenTheCircuitThenRequestsGet503WithoutReachingTheUpstream() throws Exception {
        openCircuitWithFailures();
        int hits = a.count();
        for (int i = 0; i < 5; i++) {
            HttpResponse<String> response = get("/a/x");
            assertEquals(503, response.statusCode());
            assertEquals("1", response.headers().firstValue("Retry-After").orElseThrow(), "seconds left in the open state");
            assertEquals("urn:sidegate:problem:upstream-circuit-open", JSON.readTree(response.body()).get("type").asText());
        }
        assertEquals(hits, a.count(), "an open circuit sends nothing to the upstream");
    }

    private void awaitHalfOpen(String upstream) {
        Await.until(() -> {
            try {
                return circuit(upstream).equals("half-open");
            } catch (IOException e) {
                return false;
            }
        }, "the wait in open is over");
    }

    @Test
    void halfOpenProbesCloseTheCircuitWhenTheUpstreamRecovers() throws Exception {
        openCircuitWithFailures();
        mode.set("ok");
        awaitHalfOpen("a");
        assertEquals(200, get("/a/probe1").statusCode());
        assertEquals(200, get("/a/probe2").statusCode());
        assertEquals("closed", circuit("a"));
        assertEquals(200, get("/a/after").statusCode());
    }

    @Test
    void halfOpenLetsOnlyThePermittedProbesThroughAndReopensWhenTheyFail() throws Exception {
        openCircuitWithFailures();
        mode.set("slow500");
        awaitHalfOpen("a");
        int hits = a.count();
        List<CompletableFuture<HttpResponse<String>>> burst = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            burst.add(SidegateFixture.http().sendAsync(HttpRequest.newBuilder(sidegate.uri("/a/burst" + i)).build(),
                                                       HttpResponse.BodyHandlers.ofString()));
        }
        int probes = 0;
        int rejected = 0;
        for (CompletableFuture<HttpResponse<String>> f : burst) {
            int status = f.get(20, TimeUnit.SECONDS).statusCode();
            probes += status == 500 ? 1 : 0;
            rejected += status == 503 ? 1 : 0;
        }
        assertEquals(2, probes, "half_open_calls: 2");
        assertEquals(4, rejected);
        assertEquals(hits + 2, a.count(), "only the probes reached the upstream");
        assertEquals("open", circuit("a"), "failed probes open the circuit again");
    }

    @Test
    void slowCallsThatSucceedStillOpenTheCircuit() throws Exception {
        mode.set("slow");
        for (int i = 0; i < 4; i++) {
            assertEquals(200, get("/a/slow").statusCode(), "slow calls still succeed");
        }
        assertEquals("open", circuit("a"), "but a slow-call rate of 100% > 50% opens the circuit");
        assertEquals(503, get("/a/slow").statusCode());
    }

    @Test
    void aResponseTimeoutIs504() throws Exception {
        HttpResponse<String> response = get("/timeout/x");
        assertEquals(504, response.statusCode());
        JsonNode problem = JSON.readTree(response.body());
        assertEquals("urn:sidegate:problem:upstream-timeout", problem.get("type").asText());
        assertEquals("the upstream of route /timeout did not respond within 300ms", problem.get("detail").asText());
    }

    @Test
    void aClosedPortIs502RetriedOnceForGetAndNeverForPost() throws Exception {
        long retriesBefore = dev.sidegate.testing.Meters.value(sidegate, "sidegate_upstream_retries_total", "upstream=\"127.0.0.1:" + closedPort + "\"");
        HttpResponse<String> getResponse = get("/down/x");
        assertEquals(502, getResponse.statusCode());
        assertEquals("cannot connect to the upstream of route /down (2 attempts)",
                     JSON.readTree(getResponse.body()).get("detail").asText());
        HttpResponse<String> post = SidegateFixture.send(HttpRequest.newBuilder(sidegate.uri("/down/x"))
                                                                 .POST(HttpRequest.BodyPublishers.ofString("x")).build());
        assertEquals(502, post.statusCode());
        assertEquals("cannot connect to the upstream of route /down", JSON.readTree(post.body()).get("detail").asText(),
                     "POST is not idempotent: one attempt");
        HttpResponse<String> put = SidegateFixture.send(HttpRequest.newBuilder(sidegate.uri("/down/x"))
                                                                .PUT(HttpRequest.BodyPublishers.ofString("x")).build());
        assertEquals("cannot connect to the upstream of route /down (2 attempts)", JSON.readTree(put.body()).get("detail").asText(),
                     "PUT is idempotent and no body byte was sent");
        assertEquals(retriesBefore + 2, dev.sidegate.testing.Meters.value(sidegate, "sidegate_upstream_retries_total",
                                                                         "upstream=\"127.0.0.1:" + closedPort + "\""),
                     "the GET's and the PUT's retries are counted, the POST has none");
    }

    @Test
    void retriesNeverRunPastTheRoutesTotalTimeout() throws Exception {
        HttpResponse<String> response = get("/hurry/x");
        assertEquals(502, response.statusCode());
        assertEquals("cannot connect to the upstream of route /hurry", JSON.readTree(response.body()).get("detail").asText(),
                     "a 1s backoff does not fit in a 300ms total timeout");
    }

    @Test
    void aFullBulkheadAnswers503AtOnceWhileTheSlowRequestsComplete() throws Exception {
        mode.set("gate");
        gate.set(new CountDownLatch(1));
        int hits = a.count();
        List<CompletableFuture<HttpResponse<String>>> slow = List.of(
                SidegateFixture.http().sendAsync(HttpRequest.newBuilder(sidegate.uri("/a/1")).build(), HttpResponse.BodyHandlers.ofString()),
                SidegateFixture.http().sendAsync(HttpRequest.newBuilder(sidegate.uri("/a/2")).build(), HttpResponse.BodyHandlers.ofString()));
        Await.until(() -> a.count() == hits + 2, "two requests are in flight at the upstream");
        HttpResponse<String> third = get("/a/3");
        assertEquals(503, third.statusCode());
        assertEquals("urn:sidegate:problem:upstream-busy", JSON.readTree(third.body()).get("type").asText());
        assertEquals(hits + 2, a.count());
        assertEquals(2, JSON.readTree(sidegate.admin("/admin/upstreams").body()).get("a").get("in_flight").asInt());
        gate.get().countDown();
        for (CompletableFuture<HttpResponse<String>> f : slow) {
            HttpResponse<String> r = f.get(20, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode());
            assertEquals("released", r.body());
        }
        assertEquals(200, get("/a/4").statusCode(), "slots are free again once the bodies are written");
    }

    @Test
    void oneFailingUpstreamNeverAffectsAnothersRoutes() throws Exception {
        openCircuitWithFailures();
        assertEquals(503, get("/a/x").statusCode());
        assertEquals(200, get("/b/x").statusCode());
        assertEquals("closed", circuit("b"));
    }

    @Test
    void circuitStateIsVisibleOnTheAdminPortAndInMetrics() throws Exception {
        openCircuitWithFailures();
        JsonNode upstreams = JSON.readTree(sidegate.admin("/admin/upstreams").body());
        assertEquals("open", upstreams.get("a").get("circuit").asText());
        assertEquals(a.url(), upstreams.get("a").get("url").asText());
        assertFalse(upstreams.get("a").get("failure_rate").isNull());
        String metrics = sidegate.admin("/observe/metrics").body();
        assertTrue(metrics.matches("(?s).*sidegate_upstream_circuit_transitions_total\\{[^}]*to=\"open\"[^}]*upstream=\"a\"[^}]*} [1-9].*")
                           || metrics.matches("(?s).*sidegate_upstream_circuit_transitions_total\\{[^}]*upstream=\"a\"[^}]*to=\"open\"[^}]*} [1-9].*"),
                   metrics);
        assertEquals(1, dev.sidegate.testing.Meters.value(sidegate, "sidegate_upstream_circuit_state", "upstream=\"a\""),
                     "the state gauge reads open (1)");
        assertEquals(0, dev.sidegate.testing.Meters.value(sidegate, "sidegate_upstream_circuit_state", "upstream=\"b\""));
    }
}
