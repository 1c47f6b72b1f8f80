package dev.sidegate;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import dev.sidegate.config.ConfigLoader;
import dev.sidegate.config.SidegateConfig;
import dev.sidegate.proxy.UpstreamClients;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The configurations users copy from must load and build a pipeline. */
class SampleConfigsTest {

    @Test
    void everyConfigUnderSidecarConfigLoadsAndBuildsAPipeline() throws Exception {
        List<Path> files;
        try (Stream<Path> list = Files.list(Path.of("sidecar-config"))) {
            files = list.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertFalse(files.isEmpty());
        assertTrue(files.contains(Path.of("sidecar-config/demo.yaml")));
        assertTrue(files.contains(Path.of("sidecar-config/sidegate.yaml")));
        for (Path file : files) {
            SidegateConfig config = ConfigLoader.load(Map.of("SIDEGATE_CONFIG", file.toString()));
            try (UpstreamClients clients = new UpstreamClients()) {
                Sidegate.pipeline(config, clients);
            }
        }
    }
}
