package dev.sidegate;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.sidegate.testing.Await;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** SIGTERM drains: no new connections, readiness false, in-flight requests finish within the drain timeout. */
public class GracefulShutdownTest {

    @Test
    void inFlightRequestsFinishWhileReadinessTurnsFalseAndNewConnectionsAreRefused() throws Exception {
        try (TestUpstream upstream = TestUpstream.start()) {
            SidegateFixture sidegate = SidegateFixture.start(null, Map.of("SIDEGATE_UPSTREAM", upstream.url(),
                                                                          "SIDEGATE_DRAIN_TIMEOUT", "20s"));
            int port = sidegate.port();
            List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                inFlight.add(SidegateFixture.http().sendAsync(HttpRequest.newBuilder(sidegate.uri("/slow?ms=1500&i=" + i)).build(),
                                                              HttpResponse.BodyHandlers.ofString()));
            }
            Await.until(() -> upstream.count() == 5, "all five requests reached the upstream");

            CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> sidegate.sidegate().shutdown());
            Await.until(() -> sidegate.admin("/observe/health/ready").statusCode() == 503, "readiness turns false while draining");
            Await.until(() -> refused(port), "the proxy port stops accepting connections");

            for (CompletableFuture<HttpResponse<String>> request : inFlight) {
                HttpResponse<String> response = request.get(20, TimeUnit.SECONDS);
                assertEquals(200, response.statusCode());
                assertEquals("slow", response.body(), "the in-flight response is complete");
            }
            shutdown.get(20, TimeUnit.SECONDS);
        }
    }

    @Test
    void requestsLongerThanTheDrainTimeoutAreCut() throws Exception {
        try (TestUpstream upstream = TestUpstream.start()) {
            SidegateFixture sidegate = SidegateFixture.start(null, Map.of("SIDEGATE_UPSTREAM", upstream.url(),
                                                                          "SIDEGATE_DRAIN_TIMEOUT", "200ms"));
            CompletableFuture<HttpResponse<String>> longRequest = SidegateFixture.http().sendAsync(
                    HttpRequest.newBuilder(sidegate.uri("/slow?ms=20000")).build(), HttpResponse.BodyHandlers.ofString());
            Await.until(() -> upstream.count() == 1, "the request reached the upstream");
            sidegate.sidegate().shutdown();
            try {
                HttpResponse<String> response = longRequest.get(15, TimeUnit.SECONDS);
                fail("the request outlived the drain timeout: " + response.statusCode());
            } catch (java.util.concurrent.ExecutionException e) {
                assertTrue(e.getCause() instanceof IOException, e.toString());
            }
        }
    }

    @Test
    void sigtermOnTheRealProcessDrainsFlushesTheAccessLogAndExitsZero() throws Exception {
        try (TestUpstream upstream = TestUpstream.start()) {
            Process process = startSidegate(Map.of("SIDEGATE_UPSTREAM", upstream.url()));
            List<String> output = java.util.Collections.synchronizedList(new ArrayList<>());
            try {
                int port = awaitStartupPort(process, output);
                CompletableFuture<HttpResponse<String>> inFlight = SidegateFixture.http().sendAsync(
                        HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/slow?ms=1500")).build(),
                        HttpResponse.BodyHandlers.ofString());
                Await.until(() -> upstream.count() == 1, "the request reached the upstream");
                process.toHandle().destroy(); // SIGTERM; Process.destroy() would also close our end of its output
                HttpResponse<String> response = inFlight.get(20, TimeUnit.SECONDS);
                assertEquals(200, response.statusCode());
                assertEquals("slow", response.body());
                assertTrue(process.waitFor(20, TimeUnit.SECONDS), "the process exits after draining");
                assertEquals(0, process.exitValue());
                Await.until(() -> List.copyOf(output).stream()
                                    .anyMatch(l -> l.contains("\"path\":\"/slow\"") && l.contains("\"status\":200")),
                            "the buffered access log line of the drained request is written before the exit: " + output);
            } finally {
                process.destroyForcibly();
            }
        }
    }

    @Test
    void aConfigurationErrorExitsTwoWithOneLineNamingTheKey() throws Exception {
        Process process = startSidegate(Map.of("SIDEGATE_PORT", "eighty"));
        assertTrue(process.waitFor(30, TimeUnit.SECONDS));
        assertEquals(2, process.exitValue());
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals("sidegate: configuration error: SIDEGATE_PORT: expected a whole number, got 'eighty'", output);
    }

    @Test
    void aPortInUseExitsOneWithOneLine() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0)) {
            Process process = startSidegate(Map.of("SIDEGATE_PORT", String.valueOf(taken.getLocalPort())));
            assertTrue(process.waitFor(30, TimeUnit.SECONDS));
            assertEquals(1, process.exitValue());
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            assertTrue(output.startsWith("sidegate: cannot start: the proxy port " + taken.getLocalPort() + " is not available"),
                       output);
            assertEquals(1, output.lines().count(), output);
        }
    }

    public static Process startSidegate(Map<String, String> env) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        ProcessBuilder builder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Main.class.getName())
                .redirectErrorStream(true);
        builder.environment().keySet().removeIf(k -> k.startsWith("SIDEGATE_"));
        builder.environment().put("SIDEGATE_PORT", "0");
        builder.environment().put("SIDEGATE_ADMIN_PORT", "0");
        builder.environment().putAll(env);
        return builder.start();
    }

    /** Reads the process output until the startup line and returns the proxy port it names. */
    public static int awaitStartupPort(Process process) throws IOException {
        return awaitStartupPort(process, null);
    }

    /** The same, collecting every later line of output into {@code later} (when not null). */
    public static int awaitStartupPort(Process process, List<String> later) throws IOException {
        Pattern started = Pattern.compile("sidegate started: proxy=https?://[^:]+:(\\d+)");
        BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = lines.readLine()) != null) {
            Matcher m = started.matcher(line);
            if (m.find()) {
                BufferedReader rest = lines;
                Thread.ofVirtual().start(() -> drain(rest, later)); // keep the pipe from filling up
                return Integer.parseInt(m.group(1));
            }
        }
        throw new AssertionError("the process ended without the startup line");
    }

    private static void drain(BufferedReader lines, List<String> later) {
        try {
            String line;
            while ((line = lines.readLine()) != null) {
                if (later != null) {
                    later.add(line);
                }
            }
        } catch (IOException e) {
            // the process ended
        }
    }

    private static boolean refused(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return false;
        } catch (ConnectException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
