package dev.sidegate.admin;

import java.net.http.HttpResponse;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The admin port: Helidon observe endpoints and the effective configuration, apart from proxied traffic. */
class AdminTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static TestUpstream upstream;
    private static SidegateFixture sidegate;

    @BeforeAll
    static void start() {
        upstream = TestUpstream.start();
        sidegate = SidegateFixture.start("""
                server:
                  trusted_proxies: [10.0.0.0/8]
                routes:
                  - path: /api
                    methods: [GET]
                    timeout: 2s
                  - path: /
                """, Map.of("SIDEGATE_UPSTREAM", upstream.url()));
    }

    @AfterAll
    static void stop() {
        sidegate.close();
        upstream.close();
    }

    @Test
    void healthLivenessAndReadinessAreUp() throws Exception {
        for (String path : new String[] {"/observe/health", "/observe/health/live", "/observe/health/ready"}) {
            HttpResponse<String> response = sidegate.admin(path);
            assertEquals(200, response.statusCode(), path);
            assertEquals("UP", JSON.readTree(response.body()).get("status").asText(), path);
        }
        JsonNode ready = JSON.readTree(sidegate.admin("/observe/health/ready").body());
        JsonNode check = ready.get("checks").get(0);
        assertEquals("sidegate", check.get("name").asText());
        assertEquals(sidegate.sidegate().config().source().version(), check.get("data").get("config_version").asText());
        assertEquals("resolved", check.get("data").get("upstream " + upstream.url()).asText());
    }

    @Test
    void metricsArePrometheusText() {
        HttpResponse<String> response = sidegate.admin("/observe/metrics");
        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("Content-Type").orElseThrow().startsWith("text/plain"));
        assertTrue(response.body().contains("# TYPE"), response.body());
        assertTrue(response.body().contains("jvm_uptime_seconds"), "JVM basics are exported");
    }

    @Test
    void effectiveConfigurationShowsWhatIsInForce() throws Exception {
        HttpResponse<String> response = sidegate.admin("/admin/config");
        assertEquals(200, response.statusCode());
        JsonNode config = JSON.readTree(response.body());
        assertEquals(upstream.url(), config.get("upstream").asText().replace(":" + upstream.port(), ":" + upstream.port()));
        assertEquals("/api", config.get("routes").get(0).get("path").asText());
        assertEquals("2s", config.get("routes").get(0).get("timeout").asText());
        assertEquals("5s", config.get("server").get("drain_timeout").asText(), "env SIDEGATE_DRAIN_TIMEOUT wins");
        assertEquals("10.0.0.0/8", config.get("server").get("trusted_proxies").get(0).asText());
        assertEquals(sidegate.sidegate().config().source().version(), config.get("source").get("version").asText());
    }

    @Test
    void observeEndpointsAreNotOnTheProxyPort() {
        int before = upstream.count();
        sidegate.get("/observe/health");
        assertEquals(before + 1, upstream.count(), "the proxy port forwards /observe/* like any other path");
        assertEquals("/observe/health", upstream.last().rawPath());
    }
}
