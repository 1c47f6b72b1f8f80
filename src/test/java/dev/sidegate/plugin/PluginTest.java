package dev.sidegate.plugin;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidegate.config.ConfigException;
import dev.sidegate.testing.PluginJars;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The plugin SPI end to end: the repository's example plugin and a failing one, each compiled into its own jar,
 * loaded from SIDEGATE_PLUGINS_DIR by the real server.
 */
class PluginTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String BOOM = """
            package test.boom;

            import java.util.Map;
            import dev.sidegate.plugin.Plugin;
            import dev.sidegate.proxy.Stage;

            public final class BoomPlugin implements Plugin {
                public String name() {
                    return "boom";
                }

                public Stage create(Map<String, Object> config) {
                    return (request, chain) -> {
                        throw new IllegalStateException("kaboom: internal detail at BoomPlugin.java:12");
                    };
                }
            }
            """;
    private static final String ROUTES = """
            routes:
              - path: /stamped
                plugins:
                  - name: stamp
                    config:
                      request_headers: {X-Team: payments}
                      response_headers: {X-Served-By: sidegate-stamp}
              - path: /exploding
                plugins:
                  - name: boom
              - path: /
            """;

    private static Path pluginsDir;
    private static TestUpstream upstream;
    private static SidegateFixture sidegate;

    @BeforeAll
    static void start() throws IOException {
        pluginsDir = Files.createTempDirectory("sidegate-plugins");
        PluginJars.build(Path.of("src/example-plugin/java"), Path.of("src/example-plugin/resources"),
                         pluginsDir.resolve("stamp-plugin.jar"));
        PluginJars.single("test.boom.BoomPlugin", BOOM, pluginsDir.resolve("boom-plugin.jar"));

        upstream = TestUpstream.start();
        sidegate = SidegateFixture.start(ROUTES, env());
    }

    private static Map<String, String> env() {
        return Map.of("SIDEGATE_UPSTREAM", upstream.url(), "SIDEGATE_PLUGINS_DIR", pluginsDir.toString());
    }

    @AfterAll
    static void stop() {
        sidegate.close();
        upstream.close();
    }

    @Test
    void theExamplePluginFromItsJarStampsTheRequestBeforeAndTheResponseAfter() {
        HttpResponse<String> response = SidegateFixture.send(HttpRequest.newBuilder(sidegate.uri("/stamped/x"))
                .header("X-Team", "spoofed").GET().build());
        assertEquals(200, response.statusCode());
        assertEquals("sidegate-stamp", response.headers().firstValue("X-Served-By").orElseThrow());
        assertEquals("payments", upstream.last().header("X-Team").orElseThrow());
        assertEquals(1, upstream.last().headers("X-Team").size());

        HttpResponse<String> other = sidegate.get("/other");
        assertEquals(200, other.statusCode());
        assertTrue(other.headers().firstValue("X-Served-By").isEmpty(), "plugins run only on the routes that enable them");
        assertTrue(upstream.last().header("X-Team").isEmpty());
    }

    @Test
    void aPluginThatThrowsIsA500ProblemNamingThePluginAndTheServerKeepsServing() throws Exception {
        int before = upstream.count();
        HttpResponse<String> response = sidegate.get("/exploding");
        assertEquals(500, response.statusCode());
        assertEquals("application/problem+json", response.headers().firstValue("Content-Type").orElseThrow());
        JsonNode problem = JSON.readTree(response.body());
        assertEquals("urn:sidegate:problem:stage-failed", problem.get("type").asText());
        assertTrue(problem.get("detail").asText().contains("plugin 'boom'"), problem.toString());
        assertFalse(response.body().contains("kaboom"), "the exception's message stays in the log");
        assertEquals(before, upstream.count());

        assertEquals(500, sidegate.get("/exploding").statusCode());
        assertEquals(200, sidegate.get("/stamped").statusCode(), "the server keeps serving");
    }

    @Test
    void aRouteNamingAPluginThatIsNotLoadedFailsTheLoadNamingTheKey() {
        ConfigException e = assertThrows(ConfigException.class, () -> SidegateFixture.start("""
                routes:
                  - path: /a
                  - path: /b
                    plugins: [{name: stmap}]
                """, env()));
        assertEquals("routes[1].plugins[0].name", e.key());
        assertTrue(e.getMessage().contains("boom, stamp"), e.getMessage());
    }

    @Test
    void aPluginThatRejectsItsConfigFailsTheLoadWithItsReason() {
        ConfigException e = assertThrows(ConfigException.class, () -> SidegateFixture.start("""
                routes:
                  - path: /a
                    plugins:
                      - name: stamp
                        config: {request_hedaers: {X-A: b}}
                """, env()));
        assertEquals("routes[0].plugins[0].config", e.key());
        assertTrue(e.getMessage().contains("unknown key 'request_hedaers'"), e.getMessage());
    }

    @Test
    void aPluginsDirectoryThatIsNotThereIsAStartupError() {
        ConfigException e = assertThrows(ConfigException.class, () -> SidegateFixture.start(null, Map.of(
                "SIDEGATE_UPSTREAM", upstream.url(), "SIDEGATE_PLUGINS_DIR", pluginsDir.resolve("missing").toString())));
        assertEquals("SIDEGATE_PLUGINS_DIR", e.key());
    }

    @Test
    void aReloadCanEnableALoadedPluginOnAnotherRoute() throws IOException {
        try (SidegateFixture reloading = SidegateFixture.start("routes:\n  - path: /\n", env())) {
            assertTrue(reloading.get("/x").headers().firstValue("X-Served-By").isEmpty());
            Files.writeString(reloading.configFile(), """
                    routes:
                      - path: /
                        plugins: [{name: stamp, config: {response_headers: {X-Served-By: reloaded}}}]
                    """);
            assertEquals("Applied", reloading.sidegate().reload("test").getClass().getSimpleName());
            assertEquals("reloaded", reloading.get("/x").headers().firstValue("X-Served-By").orElseThrow());
        }
    }
}
