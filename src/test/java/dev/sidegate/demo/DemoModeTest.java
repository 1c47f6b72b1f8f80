package dev.sidegate.demo;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.sidegate.Sidegate;
import dev.sidegate.config.ConfigLoader;
import dev.sidegate.testing.SidegateFixture;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every curl command that demo mode prints works, and does what its comment says. */
class DemoModeTest {
    private static final Pattern CURL = Pattern.compile("curl [^\\n]*?'?(http://localhost:\\d+[^' \\n]*)'?[^\\n#]*#\\s*(.*)");

    @Test
    void theInstructionsWorkAsPrinted() throws Exception {
        Map<String, String> env = new HashMap<>(Map.of("SIDEGATE_PORT", "0", "SIDEGATE_ADMIN_PORT", "0"));
        try (Demo demo = Demo.start(env)) {
            Sidegate sidegate = Sidegate.start(ConfigLoader.load(demo.environment()));
            try {
                String text = demo.instructions(sidegate.port(), sidegate.adminPort());
                List<String[]> commands = new ArrayList<>();
                Matcher m = CURL.matcher(text);
                while (m.find()) {
                    commands.add(new String[] {m.group(1), m.group(2)});
                }
                assertEquals(7, commands.size(), text);
                for (String[] command : commands) {
                    String url = command[0];
                    HttpResponse<String> response = SidegateFixture.send(HttpRequest.newBuilder(URI.create(url)).build());
                    int expected = command[1].contains("404") ? 404 : command[1].contains("400") ? 400 : 200;
                    assertEquals(expected, response.statusCode(), url + " -> " + response.body());
                    if (command[1].contains("X-Forwarded")) {
                        assertTrue(response.body().contains("\"X-Forwarded-For\""), response.body());
                    }
                    if (command[1].contains("Server-Sent Events")) {
                        assertTrue(response.body().contains("data: {\"tick\": 5, \"of\": 5}"), response.body());
                    }
                    if (expected != 200) {
                        assertTrue(response.body().contains("\"trace_id\""), response.body());
                    }
                }
            } finally {
                sidegate.shutdown();
            }
        }
    }
}
