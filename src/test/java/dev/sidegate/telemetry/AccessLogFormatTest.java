package dev.sidegate.telemetry;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class AccessLogFormatTest {

    @Test
    void timesHaveMicrosecondsAndDurationsThreeDecimals() {
        ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
        try (AccessLog log = new AccessLog(new PrintStream(new ByteArrayOutputStream()), timers)) {
            assertEquals("2026-12-01T10:36:09.000123Z", log.time(Instant.parse("2026-12-01T10:36:09.000123456Z")));
            assertEquals("2026-12-01T10:36:09.999999Z", log.time(Instant.parse("2026-12-01T10:36:09.999999999Z")),
                         "the same second's prefix, reused");
            assertEquals("2026-12-01T10:36:10.000000Z", log.time(Instant.parse("2026-12-01T10:36:10Z")), "the next second");
        } finally {
            timers.shutdownNow();
        }
        assertEquals("1.734", AccessLog.millis(1.7344));
        assertEquals("1.735", AccessLog.millis(1.7346));
        assertEquals("0.000", AccessLog.millis(0.0004));
        assertEquals("0.050", AccessLog.millis(0.05));
        assertEquals("12.000", AccessLog.millis(12));
    }

    @Test
    void linesWaitInTheBufferUntilAFlushAndArriveWhole() {
        ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AccessLog log = new AccessLog(new PrintStream(out, true), timers);
        try {
            timers.shutdownNow(); // no timer flush in this test: only the explicit ones
            log.write(AccessLogSettings.DEFAULT, new AccessLog.Entry(Instant.parse("2026-12-01T10:36:09Z"), "GET", "/a\"b", null,
                                                                     200, 1.5, null, null, "127.0.0.1", null, "t", "r-1", null, null));
            assertEquals("", out.toString(StandardCharsets.UTF_8), "buffered, not yet written");
            log.flush();
            assertEquals("{\"time\":\"2026-12-01T10:36:09.000000Z\",\"method\":\"GET\",\"path\":\"/a\\\"b\",\"status\":200,"
                                 + "\"duration_ms\":1.500,\"client_ip\":\"127.0.0.1\",\"trace_id\":\"t\",\"request_id\":\"r-1\"}\n",
                         out.toString(StandardCharsets.UTF_8));
        } finally {
            log.close();
        }
    }

    @Test
    void numbersAndTimesAreWrittenWithoutLosingDigits() {
        ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AccessLog log = new AccessLog(new PrintStream(out, true), timers);
        try {
            log.write(AccessLogSettings.DEFAULT, new AccessLog.Entry(Instant.parse("2026-12-01T10:36:09.000123456Z"), "POST", "/", "r",
                                                                     502, 1234.5678, "u", 2147483647, null, null, null, null, null, null));
            log.write(AccessLogSettings.DEFAULT, new AccessLog.Entry(Instant.parse("2026-12-01T10:36:10.9Z"), "GET", "/", null,
                                                                     100, 0, null, 0, null, null, null, null, null, null));
            log.flush();
            assertEquals("{\"time\":\"2026-12-01T10:36:09.000123Z\",\"method\":\"POST\",\"path\":\"/\",\"route\":\"r\",\"status\":502,"
                                 + "\"duration_ms\":1234.568,\"upstream\":\"u\",\"upstream_status\":2147483647}\n"
                                 + "{\"time\":\"2026-12-01T10:36:10.900000Z\",\"method\":\"GET\",\"path\":\"/\",\"status\":100,"
                                 + "\"duration_ms\":0.000,\"upstream_status\":0}\n",
                         out.toString(StandardCharsets.UTF_8));
        } finally {
            log.close();
            timers.shutdownNow();
        }
    }

    @Test
    void anyStringComesBackExactlyFromTheJsonLine() throws Exception {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        String[] values = {"", "plain", "quote \" and backslash \\", "controls \n\r\t\u0000\u001f\u007f end",
                           "latin é ü", "cjk 漢字", "emoji \uD83D\uDE00", "lone \uD800 high", "lone \uDC00 low",
                           "high at end \uD83D", "x".repeat(1000)};
        for (String value : values) {
            AccessLog.JsonLine line = new AccessLog.JsonLine().string(AccessLog.JsonLine.key("a"), value)
                    .number(AccessLog.JsonLine.key("n"), "12").string(AccessLog.JsonLine.key("skipped"), null)
                    .string(AccessLog.JsonLine.key("b"), "z").end();
            String text = new String(java.util.Arrays.copyOf(line.bytes(), line.size()), StandardCharsets.UTF_8);
            assertEquals('\n', text.charAt(text.length() - 1));
            assertEquals(1, text.split("\n", -1).length - 1, "one line: " + text);
            com.fasterxml.jackson.databind.JsonNode node = json.readTree(text);
            assertEquals(value, node.get("a").asText(), text);
            assertEquals(12, node.get("n").asInt());
            assertEquals("z", node.get("b").asText());
            assertEquals(3, node.size(), "null fields are left out");
        }
    }
}
