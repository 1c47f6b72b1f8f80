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
}
