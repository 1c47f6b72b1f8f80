package dev.sidegate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;

import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import io.helidon.service.registry.GlobalServiceRegistry;
import io.helidon.service.registry.ServiceRegistryManager;
import io.helidon.webserver.spi.ServerFeatureProvider;
import org.junit.jupiter.api.Test;

/** Sidegate runs with an empty Helidon service registry and serves everything it serves with wiring of its own. */
class HelidonRegistryTest {
    @Test
    void theGlobalRegistryDiscoversNothingAndSidegateServesProxyAndAdmin() throws Exception {
        // The control: Helidon's default registry finds the features on the class path.
        ServiceRegistryManager discovering = ServiceRegistryManager.create();
        try {
            assertFalse(discovering.registry().allServices(ServerFeatureProvider.class).isEmpty());
        } finally {
            discovering.shutdown();
        }
        try (TestUpstream upstream = TestUpstream.start();
             SidegateFixture sidegate = SidegateFixture.start(null, Map.of("SIDEGATE_UPSTREAM", upstream.url()))) {
            assertEquals(0, GlobalServiceRegistry.registry().allServices(ServerFeatureProvider.class).size());
            HttpResponse<String> proxied = SidegateFixture.http().send(HttpRequest.newBuilder(sidegate.uri("/hello")).build(),
                                                                       HttpResponse.BodyHandlers.ofString());
            assertEquals(200, proxied.statusCode());
            HttpResponse<String> ready = SidegateFixture.http().send(
                    HttpRequest.newBuilder(sidegate.adminUri("/observe/health/ready")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, ready.statusCode());
            assertEquals("application/json", ready.headers().firstValue("Content-Type").orElse("").split(";")[0]);
        }
    }
}
