package dev.sidegate.telemetry;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidegate.Main;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Prometheus meters after scripted requests, and the JSON access log of a real Sidegate process. */
class MetricsAndAccessLogTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void metricsCountWhatWasScripted() {
        try (TestUpstream upstream = TestUpstream.start();
             SidegateFixture sg = SidegateFixture.start("""
                     routes:
                       - path: /metered
                       - path: /status
                     """, Map.of("SIDEGATE_UPSTREAM", upstream.url()))) {
            long before2xx = value(sg, "sidegate_requests_total", "route=\"/metered\"", "method=\"GET\"", "status_class=\"2xx\"");
            long before5xx = value(sg, "sidegate_requests_total", "route=\"/status\"", "method=\"POST\"", "status_class=\"5xx\"");
            long beforeUnmatched = value(sg, "sidegate_requests_total", "route=\"unmatched\"", "method=\"GET\"", "status_class=\"4xx\"");
            for (int i = 0; i < 3; i++) {
                assertEquals(200, sg.get("/metered/ok").statusCode());
            }
            for (int i = 0; i < 2; i++) {
                assertEquals(503, SidegateFixture.send(HttpRequest.newBuilder(sg.uri("/status/503"))
                                                               .POST(HttpRequest.BodyPublishers.noBody()).build()).statusCode());
            }
            assertEquals(404, sg.get("/elsewhere").statusCode());
            assertEquals(before2xx + 3, value(sg, "sidegate_requests_total", "route=\"/metered\"", "method=\"GET\"", "status_class=\"2xx\""));
            assertEquals(before5xx + 2, value(sg, "sidegate_requests_total", "route=\"/status\"", "method=\"POST\"", "status_class=\"5xx\""));
            assertEquals(beforeUnmatched + 1, value(sg, "sidegate_requests_total", "route=\"unmatched\"", "method=\"GET\"", "status_class=\"4xx\""));
            String text = sg.admin("/observe/metrics").body();
            assertTrue(text.contains("sidegate_request_duration_seconds_bucket"), "request duration histogram");
            assertTrue(text.contains("sidegate_upstream_duration_seconds_bucket"), "upstream duration histogram");
            for (String jvm : List.of("jvm_memory_used_bytes{area=\"heap\"", "jvm_threads_live_threads", "jvm_classes_loaded_classes", "process_cpu_usage")) {
                assertTrue(text.contains(jvm), "JVM basics: " + jvm);
            }
            assertFalse(text.contains("/metered/ok"), "raw paths never become labels");

            System.gc(); // a gauge holds its state weakly: the gauges of suppliers must survive a collection
            String after = sg.admin("/observe/metrics").body();
            for (String gauge : List.of("sidegate_connections_open ", "sidegate_tunnels_open ", "sidegate_buffered_body_bytes ")) {
                String line = after.lines().filter(l -> l.startsWith(gauge)).findFirst().orElseThrow(() -> new AssertionError(gauge));
                assertFalse(line.endsWith("NaN"), line);
            }
        }
    }

    @Test
    void collectorMetersAreReadFromTheCollectorWhenScraped() {
        try (TestUpstream upstream = TestUpstream.start();
             SidegateFixture sg = SidegateFixture.start("", Map.of("SIDEGATE_UPSTREAM", upstream.url()))) {
            long collectionsBefore = sum(sg, "jvm_gc_pause_seconds_count");
            long allocatedBefore = value(sg, "jvm_gc_memory_allocated_bytes_total");
            for (int i = 0; i < 20; i++) {
                assertEquals(200, sg.get("/allocates").statusCode());
            }
            System.gc(); // one collection at least, counted by some collector
            assertTrue(sum(sg, "jvm_gc_pause_seconds_count") > collectionsBefore, "collections counted");
            assertTrue(value(sg, "jvm_gc_memory_allocated_bytes_total") > allocatedBefore, "allocation counted");
            String text = sg.admin("/observe/metrics").body();
            assertTrue(text.contains("jvm_gc_pause_seconds_sum{gc=\""), text);
            String live = text.lines().filter(l -> l.startsWith("jvm_gc_live_data_size_bytes ")).findFirst()
                    .orElseThrow(() -> new AssertionError("jvm_gc_live_data_size_bytes\n" + text));
            assertFalse(live.endsWith("NaN"), live);
            assertTrue(value(sg, "jvm_gc_max_data_size_bytes") > 0, text);
        }
    }

    /** The sum of a meter's samples over all its label sets. */
    private static long sum(SidegateFixture sg, String name) {
        return (long) sg.admin("/observe/metrics").body().lines().filter(l -> l.startsWith(name + "{"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    static long value(SidegateFixture sg, String name, String... labels) {
        return dev.sidegate.testing.Meters.value(sg, name, labels);
    }

    @Test
    void everyRequestIsOneJsonLineCarryingTheProblemsTraceId() throws Exception {
        try (TestUpstream upstream = TestUpstream.start()) {
            java.nio.file.Path config = SidegateFixture.writeTemp("routes:\n  - path: /api\n");
            Process process = start(Map.of("SIDEGATE_UPSTREAM", upstream.url(), "SIDEGATE_CONFIG", config.toString()));
            try {
                BlockingQueue<String> stdout = lines(process);
                int port = port(process.getErrorStream());
                HttpResponse<String> notFound = SidegateFixture.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/nope")).build());
                HttpResponse<String> ok = SidegateFixture.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/x?token=secret")).build());
                assertEquals(404, notFound.statusCode());
                assertEquals(200, ok.statusCode());

                JsonNode first = JSON.readTree(stdout.poll(20, TimeUnit.SECONDS));
                assertEquals("GET", first.get("method").asText());
                assertEquals("/nope", first.get("path").asText());
                assertEquals(404, first.get("status").asInt());
                assertFalse(first.has("route"));
                assertEquals(JSON.readTree(notFound.body()).get("trace_id").asText(), first.get("trace_id").asText(),
                             "the access log carries the trace id of the response's problem body");
                assertEquals(JSON.readTree(notFound.body()).get("request_id").asText(), first.get("request_id").asText(),
                             "and its request id");

                String secondLine = stdout.poll(20, TimeUnit.SECONDS);
                assertNotNull(secondLine);
                assertFalse(secondLine.contains("secret"), "no query strings in the access log");
                JsonNode second = JSON.readTree(secondLine);
                assertEquals("/api/x", second.get("path").asText());
                assertEquals("/api", second.get("route").asText());
                assertEquals(200, second.get("status").asInt());
                assertEquals("default", second.get("upstream").asText());
                assertEquals(200, second.get("upstream_status").asInt());
                assertEquals("127.0.0.1", second.get("client_ip").asText());
                assertTrue(second.get("duration_ms").asDouble() > 0, "a proxied request takes some time");
                assertTrue(second.get("time").asText().endsWith("Z"));
                assertTrue(second.get("trace_id").asText().matches("[0-9a-f]{32}"));
                assertEquals(ok.headers().firstValue("X-Request-Id").orElseThrow(), second.get("request_id").asText());
            } finally {
                process.destroy();
                process.waitFor(20, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void theAccessLogCanBeTurnedOffOrSampled() throws Exception {
        try (TestUpstream upstream = TestUpstream.start()) {
            java.nio.file.Path config = SidegateFixture.writeTemp("access_log:\n  sample_rate: 0\n");
            Process process = start(Map.of("SIDEGATE_UPSTREAM", upstream.url(), "SIDEGATE_CONFIG", config.toString()));
            try {
                BlockingQueue<String> stdout = lines(process);
                int port = port(process.getErrorStream());
                for (int i = 0; i < 5; i++) {
                    SidegateFixture.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/fine")).build());
                }
                SidegateFixture.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/status/502")).build());
                JsonNode line = JSON.readTree(stdout.poll(20, TimeUnit.SECONDS));
                assertEquals(502, line.get("status").asInt(), "with sample_rate 0 only server errors are logged");
                assertEquals(0, stdout.size());
            } finally {
                process.destroy();
                process.waitFor(20, TimeUnit.SECONDS);
            }
        }
    }

    private static Process start(Map<String, String> env) throws java.io.IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        ProcessBuilder builder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Main.class.getName());
        builder.environment().keySet().removeIf(k -> k.startsWith("SIDEGATE_") || k.startsWith("OTEL_"));
        builder.environment().put("SIDEGATE_PORT", "0");
        builder.environment().put("SIDEGATE_ADMIN_PORT", "0");
        builder.environment().putAll(env);
        return builder.start();
    }

    private static BlockingQueue<String> lines(Process process) {
        BlockingQueue<String> queue = new LinkedBlockingQueue<>();
        Thread.ofVirtual().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    queue.add(line);
                }
            } catch (java.io.IOException e) {
                // the process ended
            }
        });
        return queue;
    }

    /** Reads stderr (the log) up to the startup line; keeps draining it after. */
    private static int port(java.io.InputStream stderr) throws java.io.IOException {
        BufferedReader r = new BufferedReader(new InputStreamReader(stderr, StandardCharsets.UTF_8));
        Pattern started = Pattern.compile("sidegate started: proxy=https?://[^:]+:(\\d+)");
        String line;
        while ((line = r.readLine()) != null) {
            Matcher m = started.matcher(line);
            if (m.find()) {
                Thread.ofVirtual().start(() -> {
                    try {
                        while (r.readLine() != null) {
                            // keep the pipe drained
                        }
                    } catch (java.io.IOException e) {
                        // ended
                    }
                });
                return Integer.parseInt(m.group(1));
            }
        }
        throw new AssertionError("no startup line");
    }
}
