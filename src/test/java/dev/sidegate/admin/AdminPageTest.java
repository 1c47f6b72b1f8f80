package dev.sidegate.admin;

import java.net.ServerSocket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The admin page in a real browser (Debian's chromium, driven through its chromedriver) against a real Sidegate
 * under a little traffic: a failing upstream whose circuit opens, an enforced limit that denies, a shadow one.
 */
class AdminPageTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static TestUpstream upstream;
    private static SidegateFixture sidegate;

    @BeforeAll
    static void start() throws Exception {
        upstream = TestUpstream.start();
        int deadPort;
        try (ServerSocket nothingListens = new ServerSocket(0)) {
            deadPort = nothingListens.getLocalPort(); // closed again: connections to it are refused
        }
        sidegate = SidegateFixture.start("""
                upstreams:
                  payments:
                    url: http://127.0.0.1:%d
                    circuit_breaker:
                      window_size: 4
                      minimum_calls: 2
                      failure_rate: 50
                      wait_in_open: 10m
                routes:
                  - path: /payments
                    upstream: payments
                  - path: /api
                    methods: [GET]
                rate_limits:
                  default: {requests: 100, window: 600s}
                  routes:
                    /api/limited: {requests: 1, window: 600s}
                    /api/trial: {requests: 1, window: 600s, enforce: false}
                """.formatted(deadPort), Map.of("SIDEGATE_UPSTREAM", upstream.url()));
        traffic();
    }

    @AfterAll
    static void stop() {
        sidegate.close();
        upstream.close();
    }

    private static int get(String path) {
        return SidegateFixture.send(HttpRequest.newBuilder(sidegate.uri(path)).GET().build()).statusCode();
    }

    /** A little traffic: the payments circuit opens, one limit denies, the shadow one would have. */
    private static void traffic() {
        for (int i = 0; i < 4; i++) {
            int status = get("/payments/charge");
            assertTrue(status == 502 || status == 503, "refused, then the open circuit: " + status);
        }
        assertEquals(200, get("/api/limited"));
        assertEquals(429, get("/api/limited"));
        assertEquals(200, get("/api/trial"));
        assertEquals(200, get("/api/trial"), "shadow mode admits");
    }

    @Test
    void theStatusDocumentShowsWhatTheSidecarIsDoing() throws Exception {
        HttpResponse<String> response = sidegate.admin("/admin/status");
        assertEquals(200, response.statusCode());
        assertEquals("application/json", response.headers().firstValue("Content-Type").orElseThrow());
        JsonNode s = JSON.readTree(response.body());
        assertEquals(sidegate.sidegate().config().source().version(), s.get("config").get("version").asText());
        assertEquals("/payments", s.get("routes").get(0).get("path").asText());
        assertEquals("[\"rate-limit\",\"resilience\",\"trace-upstream\",\"upstream\"]",
                     s.get("routes").get(1).get("stages").toString().replace("\"identity-headers\",", ""));
        assertEquals("open", s.get("upstreams").get("payments").get("circuit").asText());
        assertEquals("closed", s.get("upstreams").get("default").get("circuit").asText());
        Map<String, JsonNode> limits = new java.util.HashMap<>();
        s.get("rate_limits").get("limits").forEach(l -> limits.put(l.get("name").asText(), l));
        assertTrue(limits.get("/api/limited").get("allowed").asLong() >= 1);
        assertTrue(limits.get("/api/limited").get("denied").asLong() >= 1);
        assertFalse(limits.get("/api/trial").get("enforce").asBoolean());
        assertTrue(limits.get("/api/trial").get("shadow_denied").asLong() >= 1);
        assertEquals(0, limits.get("/api/trial").get("denied").asLong(), "shadow mode never denies");

        JsonNode problems = s.get("recent_problems").get("items");
        JsonNode newest = problems.get(0);
        assertEquals(429, newest.get("status").asInt(), "newest first: a 429 came after the payments calls");
        assertEquals("/api", newest.get("route").asText());
        assertTrue(newest.get("detail").asText().startsWith("rate limit \"/api/limited\" exceeded"), newest.toString());
        assertEquals(32, newest.get("trace_id").asText().length());
        assertTrue(newest.hasNonNull("request_id"));
        boolean sawOpenCircuit = false;
        for (JsonNode p : problems) {
            sawOpenCircuit |= p.get("type").asText().equals("urn:sidegate:problem:upstream-circuit-open");
        }
        assertTrue(sawOpenCircuit, problems.toString());
        assertTrue(s.get("reload").get("last").isNull(), "no reload since start");
    }

    @Test
    void theStatusDocumentShowsTheLastReloadAndItsError() throws Exception {
        try (SidegateFixture sg = SidegateFixture.start("routes:\n  - path: /\n",
                                                        Map.of("SIDEGATE_UPSTREAM", upstream.url(), "SIDEGATE_CONFIG_WATCH", "false"))) {
            String first = sg.sidegate().config().source().version();
            Files.writeString(sg.configFile(), "routes:\n  - path: /\n    timeout: soon\n");
            assertEquals(422, reload(sg).statusCode());
            JsonNode rejected = JSON.readTree(sg.admin("/admin/status").body()).get("reload").get("last");
            assertEquals("rejected", rejected.get("result").asText());
            assertEquals("POST /admin/reload", rejected.get("trigger").asText());
            assertEquals(first, rejected.get("version").asText(), "the version in force stays");
            assertTrue(rejected.get("error").asText().startsWith("routes[0].timeout: "), rejected.toString());

            Files.writeString(sg.configFile(), "routes:\n  - path: /api\n");
            assertEquals(200, reload(sg).statusCode());
            JsonNode status = JSON.readTree(sg.admin("/admin/status").body());
            JsonNode applied = status.get("reload").get("last");
            assertEquals("applied", applied.get("result").asText());
            assertTrue(applied.get("error").isNull());
            assertEquals(sg.sidegate().config().source().version(), applied.get("version").asText());
            assertTrue(status.get("reload").get("last_rejected_reason").asText().startsWith("routes[0].timeout: "),
                       "the last rejection is still shown");
            assertEquals("/api", status.get("routes").get(0).get("path").asText());
        }
    }

    private static HttpResponse<String> reload(SidegateFixture sg) {
        return SidegateFixture.send(HttpRequest.newBuilder(sg.adminUri("/admin/reload"))
                                            .POST(HttpRequest.BodyPublishers.noBody()).build());
    }

    @Test
    void thePageLoadsInABrowserWithoutErrorsAndShowsRoutesCircuitsAndLimits() throws Exception {
        ensureBrowser();

        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                             "--no-first-run", "--disable-background-networking", "--disable-component-update",
                             "--disable-sync", "--window-size=1400,1000",
                             "--user-data-dir=" + Files.createTempDirectory("sidegate-chromium"));
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, java.util.logging.Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        WebDriver driver = new ChromeDriver(service, options);
        try {
            driver.get("http://127.0.0.1:" + sidegate.adminPort() + "/");
            assertEquals("Sidegate", driver.getTitle());
            String routes = until(() -> text(driver, "routes"), t -> t.contains("/payments"));
            assertTrue(routes.contains("rate-limit") && routes.contains("upstream"), routes);
            String upstreams = until(() -> text(driver, "upstreams"), t -> t.contains("open"));
            assertTrue(upstreams.contains("payments") && upstreams.contains("closed"), upstreams);
            String limits = text(driver, "limits");
            assertTrue(limits.contains("route /api/limited") && limits.contains("enforced"), limits);
            assertTrue(limits.contains("route /api/trial") && limits.contains("shadow"), limits);
            String problems = text(driver, "problems");
            assertTrue(problems.contains("rate limit \"/api/limited\" exceeded"), problems);

            // The page refreshes itself from the JSON endpoint: new traffic shows without a reload of the page.
            assertEquals(429, get("/api/limited?again"));
            String before = driver.findElement(By.id("problems-total")).getText();
            until(() -> driver.findElement(By.id("problems-total")).getText(), t -> !t.equals(before));

            byte[] png = ((ChromeDriver) driver).getScreenshotAs(OutputType.BYTES);
            Files.createDirectories(Path.of("target"));
            Files.write(Path.of("target", "admin-page.png"), png);
            assertTrue(png.length > 10_000, "a screenshot of a rendered page");

            List<LogEntry> entries = driver.manage().logs().get(LogType.BROWSER).getAll();
            List<String> errors = entries.stream().filter(e -> e.getLevel().intValue() >= java.util.logging.Level.WARNING.intValue())
                    .map(LogEntry::getMessage).toList();
            assertEquals(List.of(), errors, "no console errors or warnings (CSP violations included)");
        } finally {
            driver.quit();
            service.stop();
        }
    }

    /**
     * Debian's chromium and chromedriver, installed with apt-get when this machine lacks them (as .ci/run does), so
     * the test runs on a fresh machine too; if they cannot be installed, the test fails saying so, never skips.
     */
    private static void ensureBrowser() throws Exception {
        if (Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER)) {
            return;
        }
        for (String script : List.of("apt-get install -y -q chromium chromium-driver",
                                     "apt-get update -q && apt-get install -y -q chromium chromium-driver")) {
            ProcessBuilder install = new ProcessBuilder("sh", "-c", script).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD);
            install.environment().put("DEBIAN_FRONTEND", "noninteractive");
            Process p = install.start();
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
            }
            if (Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER)) {
                return;
            }
        }
        throw new AssertionError("this test needs Debian's chromium and chromium-driver (/usr/bin/chromium, "
                + "/usr/bin/chromedriver), and apt-get could not install them");
    }

    private static String text(WebDriver driver, String tableId) {
        return driver.findElement(By.id(tableId)).getText();
    }

    /** Polls until the value passes, with a deadline generous enough for a loaded machine. */
    private static String until(Supplier<String> value, java.util.function.Predicate<String> done) {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        String last = value.get();
        while (!done.test(last)) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("not shown within 30 s; the page has: " + last);
            }
            Thread.onSpinWait();
            last = value.get();
        }
        return last;
    }
}
