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

    /** This machine's own address on a real interface: a peer that is not loopback, without leaving the host. */
    static java.net.InetAddress podAddress() throws java.net.SocketException {
        for (java.net.NetworkInterface nic : java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())) {
            if (!nic.isUp() || nic.isLoopback()) {
                continue;
            }
            for (java.net.InetAddress address : java.util.Collections.list(nic.getInetAddresses())) {
                if (address instanceof java.net.Inet4Address) {
                    return address;
                }
            }
        }
        throw new AssertionError("this machine has no non-loopback IPv4 address to test remote admin access from");
    }

    static HttpResponse<String> fromPod(SidegateFixture sg, String method, String path, String... headers) throws Exception {
        java.net.http.HttpRequest.Builder b = java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://" + podAddress().getHostAddress() + ":" + sg.adminPort() + path))
                .method(method, java.net.http.HttpRequest.BodyPublishers.noBody());
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return SidegateFixture.send(b.build());
    }

    @Test
    void adminViewsAnswerLoopbackOnlyWhileHealthAndMetricsAnswerThePodNetwork() throws Exception {
        assertEquals(200, sidegate.admin("/admin/config").statusCode(), "loopback: another container, or a port-forward");
        for (String path : new String[] {"/admin/config", "/admin/upstreams", "/admin/status", "/"}) {
            HttpResponse<String> refused = fromPod(sidegate, "GET", path);
            assertEquals(403, refused.statusCode(), path);
            assertEquals("urn:sidegate:problem:admin-forbidden", JSON.readTree(refused.body()).get("type").asText());
            assertTrue(!refused.body().contains(upstream.url()), "nothing of the topology leaks");
        }
        assertEquals(403, fromPod(sidegate, "POST", "/admin/reload").statusCode());
        assertEquals(200, fromPod(sidegate, "GET", "/observe/health/ready").statusCode(), "the kubelet's probes still work");
        assertEquals(200, fromPod(sidegate, "GET", "/observe/metrics").statusCode(), "Prometheus can still scrape");
    }

    @Test
    void anAdminTokenOpensTheAdminViewsToOtherPeers() throws Exception {
        String token = "admin-token-0123456789";
        try (SidegateFixture sg = SidegateFixture.start("routes:\n  - path: /\n", Map.of("SIDEGATE_UPSTREAM", upstream.url(),
                                                                                        "SIDEGATE_ADMIN_TOKEN", token,
                                                                                        "SIDEGATE_CONFIG_WATCH", "false"))) {
            assertEquals(200, fromPod(sg, "GET", "/admin/config", "Authorization", "Bearer " + token).statusCode());
            assertEquals(403, fromPod(sg, "GET", "/admin/config", "Authorization", "Bearer " + token + "x").statusCode());
            assertEquals(403, fromPod(sg, "GET", "/admin/config").statusCode());
            String before = sg.sidegate().config().source().version();
            java.nio.file.Files.writeString(sg.configFile(), "routes:\n  - path: /changed\n");
            assertEquals(403, fromPod(sg, "POST", "/admin/reload", "Authorization", "Bearer wrong-token-0123456789").statusCode());
            assertEquals(before, sg.sidegate().config().source().version(), "a refused reload reloads nothing");
            assertEquals(200, fromPod(sg, "POST", "/admin/reload", "Authorization", "Bearer " + token).statusCode());
            assertTrue(!before.equals(sg.sidegate().config().source().version()), "the token's holder may reload");
            assertTrue(!sg.admin("/admin/config").body().contains(token), "the token is never shown");
        }
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
        assertTrue(response.body().contains("process_uptime_seconds"), "JVM basics are exported");
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
