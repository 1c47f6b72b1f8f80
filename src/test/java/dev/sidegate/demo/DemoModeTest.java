package dev.sidegate.demo;

import java.util.HashMap;
import java.util.Map;

import dev.sidegate.Sidegate;
import org.junit.jupiter.api.Test;

/** Every curl command that demo mode prints works, and does what its comment says. */
class DemoModeTest {
    @Test
    void theInstructionsWorkAsPrinted() throws Exception {
        Map<String, String> env = new HashMap<>(Map.of("SIDEGATE_PORT", "0", "SIDEGATE_ADMIN_PORT", "0"));
        try (Demo demo = Demo.start(env)) {
            Sidegate sidegate = Sidegate.start(demo.environment());
            try {
                PrintedCommands.assertEveryCommandWorks(demo.instructions(sidegate.port(), sidegate.adminPort()));
            } finally {
                sidegate.shutdown();
            }
        }
    }
}
