package dev.sidegate.config;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

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
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Configuration changes apply without a restart, atomically, and a broken file changes nothing. */
class HotReloadTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private TestUpstream upstream;

    @BeforeEach
    void start() {
        upstream = TestUpstream.start();
    }

    @AfterEach
    void stop() {
        upstream.close();
    }

    /** A directory laid out like a mounted ConfigMap: sidegate.yaml -> ..data/sidegate.yaml, ..data -> ..v1. */
    static final class ConfigMapDir {
        private final Path dir;
        private int version;

        ConfigMapDir(String yaml) throws IOException {
            dir = Files.createTempDirectory("sidegate-configmap");
            Path first = publish(yaml);
            Files.createSymbolicLink(dir.resolve("..data"), first.getFileName());
            Files.createSymbolicLink(dir.resolve("sidegate.yaml"), Path.of("..data/sidegate.yaml"));
        }

        Path file() {
            return dir.resolve("sidegate.yaml");
        }

        private Path publish(String yaml) throws IOException {
            Path versionDir = dir.resolve("..v" + (++version));
            Files.createDirectory(versionDir);
            Files.writeString(versionDir.resolve("sidegate.yaml"), yaml);
            return versionDir;
        }

        /** What the kubelet does: write a new version directory, then swap the ..data symlink atomically. */
        void swap(String yaml) throws IOException {
            Path next = publish(yaml);
            Path tmp = dir.resolve("..data_tmp");
            Files.createSymbolicLink(tmp, next.getFileName());
            Files.move(tmp, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private Map<String, String> env(Path file, String... more) {
        Map<String, String> env = new HashMap<>(Map.of("SIDEGATE_UPSTREAM", upstream.url()));
        if (file != null) {
            env.put("SIDEGATE_CONFIG", file.toString());
        }
        for (int i = 0; i < more.length; i += 2) {
            env.put(more[i], more[i + 1]);
        }
        return env;
    }

    private static HttpResponse<String> post(URI uri) {
        return SidegateFixture.send(HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.noBody()).build());
    }

    @Test
    void aConfigMapSymlinkSwapUnderLoadDropsNothingAndTheNewRouteAnswers() throws Exception {
        ConfigMapDir configMap = new ConfigMapDir("routes:\n  - path: /old\n");
        try (SidegateFixture sg = SidegateFixture.start(null, env(configMap.file()))) {
            String before = JSON.readTree(sg.admin("/admin/config").body()).get("source").get("version").asText();
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger ok = new AtomicInteger();
            List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            List<CompletableFuture<Void>> load = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                load.add(CompletableFuture.runAsync(() -> {
                    while (running.get()) {
                        try {
                            HttpResponse<String> r = sg.get("/old/x");
                            if (r.statusCode() == 200) {
                                ok.incrementAndGet();
                            } else {
                                failures.add(r.statusCode() + " " + r.body());
                            }
                        } catch (RuntimeException e) {
                            failures.add(e.toString());
                        }
                    }
                }));
            }
            Await.until(() -> ok.get() > 20, "load is flowing");
            configMap.swap("routes:\n  - path: /old\n  - path: /new\n");
            Await.until(() -> sg.get("/new/x").statusCode() == 200, "the new route answers");
            int atSwap = ok.get();
            Await.until(() -> ok.get() > atSwap + 20, "load keeps flowing after the swap");
            running.set(false);
            CompletableFuture.allOf(load.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
            assertEquals(List.of(), failures, "zero failed requests during the reload");
            String after = JSON.readTree(sg.admin("/admin/config").body()).get("source").get("version").asText();
            assertNotEquals(before, after, "the admin view shows the new version");
        }
    }

    @Test
    void aBrokenFileIsRejectedTrafficFlowsOnAndFixingItApplies() throws Exception {
        try (SidegateFixture sg = SidegateFixture.start("routes:\n  - path: /old\n", env(null))) {
            Path file = sg.configFile();
            long rejectedBefore = dev.sidegate.testing.Meters.value(sg, "sidegate_config_reloads_total", "result=\"rejected\"");
            Files.writeString(file, "routes:\n  - path: /old\n    timeoutt: 5s\n");
            HttpResponse<String> rejected = post(sg.adminUri("/admin/reload"));
            assertEquals(422, rejected.statusCode());
            assertEquals("routes[0].timeoutt: unknown key", JSON.readTree(rejected.body()).get("detail").asText());
            assertEquals(200, sg.get("/old/x").statusCode(), "the last good configuration stays in force");
            JsonNode reload = JSON.readTree(sg.admin("/admin/config").body()).get("reload");
            assertEquals("routes[0].timeoutt: unknown key", reload.get("last_rejected_reason").asText());
            assertTrue(reload.get("last_rejected_at").asText().endsWith("Z"));
            assertEquals(rejectedBefore + 1, dev.sidegate.testing.Meters.value(sg, "sidegate_config_reloads_total", "result=\"rejected\""),
                         "the rejection is counted");

            Files.writeString(file, "routes:\n  - path: /old\n  - path: /fixed\n");
            Await.until(() -> sg.get("/fixed/x").statusCode() == 200, "the fixed file is applied by the watcher");
            assertEquals("unchanged", JSON.readTree(post(sg.adminUri("/admin/reload")).body()).get("result").asText());
        }
    }

    @Test
    void rateLimitCountsAndAnOpenCircuitSurviveAnUnrelatedRouteChange() throws Exception {
        upstream.handle("/a", (req, res) -> res.status(Status.INTERNAL_SERVER_ERROR_500).send("broken"));
        String yaml = """
                server:
                  trusted_proxies: [127.0.0.1/32]
                upstreams:
                  a:
                    url: %s
                    circuit_breaker: {window_size: 2, minimum_calls: 2, wait_in_open: 1m}
                rate_limits:
                  default: {requests: 5, window: 600s}
                routes:
                  - path: /a
                    upstream: a
                  - path: /x
                """.formatted(upstream.url());
        try (SidegateFixture sg = SidegateFixture.start(yaml, env(null, "SIDEGATE_CONFIG_WATCH", "false"))) {
            for (int i = 0; i < 3; i++) {
                assertEquals(200, send(sg, "/x/1", "10.9.0.1").statusCode());
            }
            assertEquals(500, send(sg, "/a/1", "10.9.0.2").statusCode());
            assertEquals(500, send(sg, "/a/1", "10.9.0.2").statusCode());
            assertEquals(503, send(sg, "/a/1", "10.9.0.3").statusCode(), "the circuit is open");

            Files.writeString(sg.configFile(), yaml + "  - path: /y\n");
            assertEquals("applied", JSON.readTree(post(sg.adminUri("/admin/reload")).body()).get("result").asText());
            assertEquals(200, send(sg, "/y/1", "10.9.0.4").statusCode(), "the new route is there");

            int hits = upstream.count();
            assertEquals(503, send(sg, "/a/1", "10.9.0.3").statusCode(), "the open circuit survived the reload");
            assertEquals(hits, upstream.count());
            assertEquals(200, send(sg, "/x/1", "10.9.0.1").statusCode());
            assertEquals(200, send(sg, "/x/1", "10.9.0.1").statusCode());
            assertEquals(429, send(sg, "/x/1", "10.9.0.1").statusCode(), "3 before + 2 after the reload: the bucket kept its count");
        }
    }

    @Test
    void theJwksCacheAndTheRedisConnectionSurviveAReloadThatKeepsTheirSettings() throws Exception {
        com.nimbusds.jose.jwk.RSAKey key = dev.sidegate.testing.Tokens.rsa("reload-key");
        try (dev.sidegate.testing.JwksServer jwks = new dev.sidegate.testing.JwksServer(new com.nimbusds.jose.jwk.JWKSet(key));
             dev.sidegate.testing.RedisFixture redis = dev.sidegate.testing.RedisFixture.start()) {
            Map<String, String> env = env(null, "SIDEGATE_CONFIG_WATCH", "false", "SIDEGATE_REDIS_URL", redis.url());
            env.putAll(dev.sidegate.testing.Tokens.env(jwks.url()));
            String yaml = "rate_limits:\n  default: {requests: 100, window: 60s}\nroutes:\n  - path: /a\n";
            try (SidegateFixture sg = SidegateFixture.start(yaml, env)) {
                String token = "Bearer " + dev.sidegate.testing.Tokens.rs256(key, c -> { });
                assertEquals(200, SidegateFixture.send(HttpRequest.newBuilder(sg.uri("/a/1")).header("Authorization", token).build())
                        .statusCode());
                int jwksHits = jwks.hits();
                String connections = connectionsReceived(redis);

                Files.writeString(sg.configFile(), yaml + "  - path: /b\n");
                assertEquals("applied", JSON.readTree(post(sg.adminUri("/admin/reload")).body()).get("result").asText());
                assertEquals(200, SidegateFixture.send(HttpRequest.newBuilder(sg.uri("/b/1")).header("Authorization", token).build())
                        .statusCode());
                assertEquals(jwksHits, jwks.hits(), "the JWKS was not fetched again");
                assertEquals(Long.parseLong(connections) + 1, Long.parseLong(connectionsReceived(redis)),
                             "no Redis connection was opened but the test's own first probe");
            }
        }
    }

    /** Connections Redis has accepted, not counting the probe's own (which is made after the INFO reply). */
    private static String connectionsReceived(dev.sidegate.testing.RedisFixture redis) {
        String info = redis.with(r -> r.info("stats"));
        for (String line : info.split("\r?\n")) {
            if (line.startsWith("total_connections_received:")) {
                return Long.toString(Long.parseLong(line.substring(line.indexOf(':') + 1).trim()) - 1);
            }
        }
        throw new AssertionError(info);
    }

    private static HttpResponse<String> send(SidegateFixture sg, String path, String ip) {
        return SidegateFixture.send(HttpRequest.newBuilder(sg.uri(path)).header("X-Forwarded-For", ip).build());
    }

    @Test
    void inFlightRequestsFinishOnTheConfigurationTheyStartedWith() throws Exception {
        try (SidegateFixture sg = SidegateFixture.start("routes:\n  - path: /slow\n", env(null, "SIDEGATE_CONFIG_WATCH", "false"))) {
            int hits = upstream.count();
            CompletableFuture<HttpResponse<String>> inFlight = SidegateFixture.http().sendAsync(
                    HttpRequest.newBuilder(sg.uri("/slow?ms=1500")).build(), HttpResponse.BodyHandlers.ofString());
            Await.until(() -> upstream.count() == hits + 1, "the slow request reached the upstream");
            Files.writeString(sg.configFile(), "routes:\n  - path: /other\n");
            assertEquals("applied", JSON.readTree(post(sg.adminUri("/admin/reload")).body()).get("result").asText());
            assertEquals(404, sg.get("/slow?ms=1").statusCode(), "new requests see the new routes");
            HttpResponse<String> finished = inFlight.get(20, TimeUnit.SECONDS);
            assertEquals(200, finished.statusCode());
            assertEquals("slow", finished.body());
        }
    }

    @Test
    void startupOnlySettingsAreReportedAsNeedingARestart() throws Exception {
        try (SidegateFixture sg = SidegateFixture.start("server:\n  header_timeout: 10s\nroutes:\n  - path: /a\n",
                                                        env(null, "SIDEGATE_CONFIG_WATCH", "false"))) {
            Files.writeString(sg.configFile(), "server:\n  header_timeout: 3s\nroutes:\n  - path: /a\n  - path: /b\n");
            JsonNode result = JSON.readTree(post(sg.adminUri("/admin/reload")).body());
            assertEquals("applied", result.get("result").asText());
            assertEquals("server.header_timeout", result.get("restart_required").get(0).asText());
            JsonNode config = JSON.readTree(sg.admin("/admin/config").body());
            assertEquals("10s", config.get("server").get("header_timeout").asText(), "the running value stays");
            assertEquals("server.header_timeout", config.get("reload").get("restart_required").get(0).asText());
            assertEquals(200, sg.get("/b/x").statusCode(), "the rest of the change applies");
        }
    }

    @Test
    void sighupReloadsARealProcess() throws Exception {
        Path file = SidegateFixture.writeTemp("routes:\n  - path: /before\n");
        Process process = dev.sidegate.GracefulShutdownTest.startSidegate(Map.of("SIDEGATE_UPSTREAM", upstream.url(),
                "SIDEGATE_CONFIG", file.toString(), "SIDEGATE_CONFIG_WATCH", "false"));
        try {
            int port = dev.sidegate.GracefulShutdownTest.awaitStartupPort(process);
            URI after = URI.create("http://127.0.0.1:" + port + "/after/x");
            Files.writeString(file, "routes:\n  - path: /after\n");
            assertEquals(404, SidegateFixture.send(HttpRequest.newBuilder(after).build()).statusCode(), "no watching: not yet");
            new ProcessBuilder("kill", "-HUP", Long.toString(process.pid())).start().waitFor(10, TimeUnit.SECONDS);
            Await.until(() -> SidegateFixture.send(HttpRequest.newBuilder(after).build()).statusCode() == 200,
                        "SIGHUP applies the file");
        } finally {
            process.destroy();
            process.waitFor(20, TimeUnit.SECONDS);
        }
    }
}
