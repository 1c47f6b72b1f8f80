package dev.sidegate;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import dev.sidegate.assembly.ConfigLoader;
import dev.sidegate.assembly.SidegateConfig;
import dev.sidegate.assembly.Assembly;
import dev.sidegate.assembly.Deployment;
import dev.sidegate.assembly.SharedParts;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The configurations users copy from must load and build a pipeline. */
class SampleConfigsTest {

    @Test
    void theSampleConfigsV1OrdersRouteDoesTheSeedsRewrite() throws Exception {
        try (TestUpstream upstream = TestUpstream.start();
             SidegateFixture sidegate = SidegateFixture.start(Files.readString(Path.of("sidecar-config/sidegate.yaml")),
                                                              Map.of("SIDEGATE_UPSTREAM", upstream.url(),
                                                                     "SIDEGATE_PORT", "0", "SIDEGATE_ADMIN_PORT", "0"))) {
            HttpResponse<String> response = SidegateFixture.send(HttpRequest.newBuilder(sidegate.uri("/api/v1/orders"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(
                            "{\"customer_id\": \"c1\", \"items\": [{\"product_id\": \"p1\", \"qty\": 2}]}"))
                    .build());
            assertEquals(200, response.statusCode(), response.body());
            String v2 = "{\"customer\":{\"id\":\"c1\"},\"line_items\":[{\"product_id\":\"p1\",\"quantity\":2}],"
                    + "\"metadata\":{\"api_version\":\"v1\"}}";
            assertEquals("/api/v2/orders", upstream.last().rawPath());
            assertEquals(v2, upstream.last().body());
            assertEquals(String.valueOf(v2.length()), upstream.last().header("Content-Length").orElseThrow());
        }
    }

    @Test
    void everyLoadTestConfigLoadsAndBuildsAPipeline() throws Exception {
        List<Path> files;
        try (Stream<Path> list = Files.list(Path.of("loadtest/configs"))) {
            files = list.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertFalse(files.isEmpty());
        for (Path file : files) {
            // The harness sets the key and Redis by environment; any key source and an unreachable Redis will do here.
            Map<String, String> env = Files.readString(file).contains("\nauth:")
                    ? Map.of("SIDEGATE_CONFIG", file.toString(), "SIDEGATE_JWT_HMAC_SECRET", "0123456789abcdef0123456789abcdef")
                    : Map.of("SIDEGATE_CONFIG", file.toString());
            SidegateConfig config = ConfigLoader.load(env);
            try (SharedParts shared = SharedParts.create(config)) {
                Deployment built = Assembly.build(config, shared);
                assertEquals(config.routes().size(), built.pipeline().routes().routes().size(), file.toString());
                built.discard();
            }
        }
    }

    @Test
    void everyConfigUnderSidecarConfigLoadsAndBuildsAPipeline() throws Exception {
        List<Path> files;
        try (Stream<Path> list = Files.list(Path.of("sidecar-config"))) {
            // kustomization.yaml generates the Kubernetes ConfigMap from these files; it is not a Sidegate config.
            files = list.filter(p -> p.toString().endsWith(".yaml") && !p.endsWith("kustomization.yaml")).sorted().toList();
        }
        assertFalse(files.isEmpty());
        assertTrue(files.contains(Path.of("sidecar-config/demo.yaml")));
        assertTrue(files.contains(Path.of("sidecar-config/sidegate.yaml")));
        for (Path file : files) {
            // Demo mode supplies the JWKS URL of its own identity provider; any URL will do to build the pipeline.
            Map<String, String> env = file.endsWith("demo.yaml")
                    ? Map.of("SIDEGATE_CONFIG", file.toString(), "SIDEGATE_JWT_JWKS_URL", "http://127.0.0.1:9/jwks.json")
                    : Map.of("SIDEGATE_CONFIG", file.toString());
            SidegateConfig config = ConfigLoader.load(env);
            try (SharedParts shared = SharedParts.create(config)) {
                Deployment built = Assembly.build(config, shared);
                assertEquals(config.routes().size(), built.pipeline().routes().routes().size(), file.toString());
                built.discard();
            }
        }
    }
}
