package dev.sidegate.assembly;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import dev.sidegate.config.Cidr;
import dev.sidegate.testing.Await;
import dev.sidegate.testing.JwksServer;
import dev.sidegate.testing.Meters;
import dev.sidegate.testing.PluginJars;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import dev.sidegate.testing.Tokens;
import io.helidon.http.Status;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Building a pipeline changes nothing live; a pipeline keeps what it was built with; every Sidegate has its own
 * meters. Through real servers, real reloads and a real plugin.
 */
class ReloadIsolationTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Holds a request until the test lets it go, so it can still be running when a reload happens. */
    private static final String GATE = """
            package test.gate;

            import java.util.Map;
            import java.util.concurrent.locks.LockSupport;
            import dev.sidegate.plugin.Plugin;
            import dev.sidegate.proxy.Stage;

            public final class GatePlugin implements Plugin {
                public String name() {
                    return "gate";
                }

                public Stage create(Map<String, Object> config) {
                    return (request, chain) -> {
                        System.setProperty("sidegate.test.gate.entered", "yes");
                        while (System.getProperty("sidegate.test.gate.open") == null) {
                            LockSupport.parkNanos(1_000_000);
                        }
                        return chain.proceed(request);
                    };
                }
            }
            """;

    private static Path pluginsDir;
    private static TestUpstream upstream;

    @BeforeAll
    static void start() throws Exception {
        pluginsDir = Files.createTempDirectory("sidegate-gate-plugin");
        PluginJars.single("test.gate.GatePlugin", GATE, pluginsDir.resolve("gate.jar"));
        upstream = TestUpstream.start();
        upstream.handle("/failing", (req, res) -> res.status(Status.INTERNAL_SERVER_ERROR_500).send("broken"));
    }

    @AfterAll
    static void stop() {
        upstream.close();
    }

    private static Map<String, String> env(String... more) {
        Map<String, String> env = new HashMap<>(Map.of("SIDEGATE_CONFIG_WATCH", "false", "SIDEGATE_PLUGINS_DIR", pluginsDir.toString()));
        for (int i = 0; i < more.length; i += 2) {
            env.put(more[i], more[i + 1]);
        }
        return env;
    }

    private static JsonNode reload(SidegateFixture sg) throws Exception {
        HttpResponse<String> response = SidegateFixture.send(HttpRequest.newBuilder(sg.adminUri("/admin/reload"))
                                                                     .POST(HttpRequest.BodyPublishers.noBody()).build());
        return JSON.readTree(response.body());
    }

    private static JsonNode upstreams(SidegateFixture sg) throws Exception {
        return JSON.readTree(sg.admin("/admin/upstreams").body());
    }

    @Test
    void aReloadRejectedLateLeavesTheOpenCircuitAndItsGaugeAsTheyWere() throws Exception {
        String yaml = """
                upstreams:
                  a:
                    url: %s
                    circuit_breaker: {window_size: 2, minimum_calls: 2, wait_in_open: 1m}
                routes:
                  - path: /failing
                    upstream: a
                """.formatted(upstream.url());
        try (SidegateFixture sg = SidegateFixture.start(yaml, env())) {
            assertEquals(500, sg.get("/failing/1").statusCode());
            assertEquals(500, sg.get("/failing/2").statusCode());
            assertEquals(503, sg.get("/failing/3").statusCode(), "the circuit is open");
            assertEquals(1, Meters.value(sg, "sidegate_upstream_circuit_state", "upstream=\"a\""));

            // New breaker settings for a, and a plugin that is not there: the build fails after the guards are made.
            Files.writeString(sg.configFile(), yaml.replace("window_size: 2", "window_size: 3")
                    + "  - path: /plugged\n    plugins: [{name: no-such-plugin}]\n");
            JsonNode rejected = reload(sg);
            assertEquals(422, rejected.get("status").asInt(), rejected.toString());

            int hits = upstream.count();
            assertEquals(503, sg.get("/failing/4").statusCode(), "the open circuit is still the live one");
            assertEquals(hits, upstream.count());
            assertEquals("open", upstreams(sg).get("a").get("circuit").asText());
            assertEquals(1, Meters.value(sg, "sidegate_upstream_circuit_state", "upstream=\"a\""), "the gauge still reads it");
        }
    }

    @Test
    void aRequestStillRunningOnTheOldPipelineKeepsItsOwnGuardsAndNeverBringsThemBack() throws Exception {
        String yaml = """
                upstreams:
                  a:
                    url: %s
                    max_concurrent: 7
                routes:
                  - path: /gated
                    upstream: a
                    plugins: [{name: gate}]
                  - path: /open
                    upstream: a
                """.formatted(upstream.url());
        System.clearProperty("sidegate.test.gate.entered");
        System.clearProperty("sidegate.test.gate.open");
        try (SidegateFixture sg = SidegateFixture.start(yaml, env())) {
            CompletableFuture<HttpResponse<String>> held = SidegateFixture.http().sendAsync(
                    HttpRequest.newBuilder(sg.uri("/gated/1")).build(), HttpResponse.BodyHandlers.ofString());
            Await.until(() -> System.getProperty("sidegate.test.gate.entered") != null, "the request is held before its guard");

            Files.writeString(sg.configFile(), yaml.replace("max_concurrent: 7", "max_concurrent: 9"));
            assertEquals("applied", reload(sg).get("result").asText());
            assertEquals(9, upstreams(sg).get("a").get("max_concurrent").asInt());

            System.setProperty("sidegate.test.gate.open", "yes");
            assertEquals(200, held.get(20, TimeUnit.SECONDS).statusCode(), "the held request finished on its pipeline");
            assertEquals(9, upstreams(sg).get("a").get("max_concurrent").asInt(),
                         "the old pipeline's request did not swap the old guard back in");
            assertEquals(200, sg.get("/open/after").statusCode());
            assertEquals(9, upstreams(sg).get("a").get("max_concurrent").asInt());
        } finally {
            System.setProperty("sidegate.test.gate.open", "yes");
        }
    }

    @Test
    void aSidecarWhoseIdentityProviderComesBackLateIsReadyWithoutWaitingForTheFetchThrottle() throws Exception {
        RSAKey key = Tokens.rsa("late-key");
        try (JwksServer jwks = new JwksServer(new JWKSet(key))) {
            jwks.down(true);
            Map<String, String> env = env("SIDEGATE_UPSTREAM", upstream.url());
            env.putAll(Tokens.env(jwks.url()));
            try (SidegateFixture sg = SidegateFixture.start("""
                     routes:
                       - path: /api
                     auth:
                       jwks:
                         cache_ttl: 20m
                         refresh_min_interval: 10m
                     """, env)) {
                String token = "Bearer " + Tokens.rs256(key, c -> { });
                for (int i = 0; i < 5; i++) {
                    // Requests during the outage (unknown keys) must not spend the fetch budget of the key source.
                    assertEquals(503, SidegateFixture.send(HttpRequest.newBuilder(sg.uri("/api/" + i))
                                                                   .header("Authorization", token).build()).statusCode());
                }
                Await.until(() -> jwks.hits() >= 3, "the start-up fetches keep trying while the endpoint is down");
                assertEquals(503, sg.admin("/observe/health/ready").statusCode());
                jwks.down(false);
                // Nimbus allows two fetches per refresh_min_interval (10 minutes here); start-up retries must not wait for it.
                Await.until(() -> sg.admin("/observe/health/ready").statusCode() == 200,
                            "ready soon after the identity provider answers, long before the fetch throttle allows");
                assertEquals(200, SidegateFixture.send(HttpRequest.newBuilder(sg.uri("/api/ok"))
                                                               .header("Authorization", token).build()).statusCode());
            }
        }
    }

    @Test
    void everySidegateHasItsOwnMeters() throws Exception {
        String yaml = "routes:\n  - path: /metered\n";
        try (SidegateFixture a = SidegateFixture.start(yaml, env("SIDEGATE_UPSTREAM", upstream.url()));
             SidegateFixture b = SidegateFixture.start(yaml, env("SIDEGATE_UPSTREAM", upstream.url()))) {
            for (int i = 0; i < 3; i++) {
                assertEquals(200, a.get("/metered/" + i).statusCode());
            }
            assertEquals(200, b.get("/metered/b").statusCode());
            assertEquals(3, Meters.value(a, "sidegate_requests_total", "route=\"/metered\"", "status_class=\"2xx\""));
            assertEquals(1, Meters.value(b, "sidegate_requests_total", "route=\"/metered\"", "status_class=\"2xx\""),
                         "b counts only its own requests");
        }
    }

    @Test
    void addressBlocksAreEqualWhenTheyCoverTheSameAddresses() throws Exception {
        Cidr a = Cidr.parse("k", "10.0.0.0/8");
        assertEquals(a, Cidr.parse("k", "10.0.0.0/8"));
        assertEquals(a.hashCode(), Cidr.parse("k", "10.0.0.0/8").hashCode());
        assertEquals(a, Cidr.parse("k", "10.1.2.3/8"), "the same block written another way");
        assertNotEquals(a, Cidr.parse("k", "10.0.0.0/9"));
        assertNotEquals(a, Cidr.parse("k", "11.0.0.0/8"));

        String yaml = "server:\n  trusted_proxies: [10.0.0.0/8, fd00::/8]\nroutes:\n  - path: /a\n";
        try (SidegateFixture sg = SidegateFixture.start(yaml, env("SIDEGATE_UPSTREAM", upstream.url()))) {
            Files.writeString(sg.configFile(), yaml + "  - path: /b\n");
            JsonNode result = reload(sg);
            assertEquals("applied", result.get("result").asText());
            assertEquals(List.of(), JSON.convertValue(result.get("restart_required"), List.class),
                         "unchanged trusted proxies are not a change");
            assertTrue(sg.get("/b/x").statusCode() == 200);
        }
    }
}
