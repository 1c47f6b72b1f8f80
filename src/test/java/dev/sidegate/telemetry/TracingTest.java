package dev.sidegate.telemetry;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidegate.testing.Await;
import dev.sidegate.testing.OtlpReceiver;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Spans reach a real OTLP/HTTP receiver with the right links and attributes; the upstream joins the trace. */
class TracingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String CLIENT_PARENT = "00f067aa0ba902b7";

    @Test
    void serverAndClientSpansAreExportedAndTheUpstreamJoinsTheClientsTrace() throws Exception {
        try (OtlpReceiver otlp = new OtlpReceiver();
             TestUpstream upstream = TestUpstream.start();
             SidegateFixture sg = SidegateFixture.start("""
                     routes:
                       - path: /api
                     rate_limits:
                       default: {requests: 100, window: 60s}
                     """, Map.of("SIDEGATE_UPSTREAM", upstream.url(),
                                 "OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint(),
                                 "OTEL_SERVICE_NAME", "sidegate-under-test",
                                 "OTEL_BSP_SCHEDULE_DELAY", "50"))) {
            HttpResponse<String> response = SidegateFixture.send(HttpRequest.newBuilder(sg.uri("/api/orders/7?secret=x"))
                    .header("traceparent", "00-" + TRACE + "-" + CLIENT_PARENT + "-01")
                    .header("tracestate", "vendor=abc")
                    .header("baggage", "tenant=acme")
                    .build());
            assertEquals(200, response.statusCode());
            assertEquals(TRACE, response.headers().firstValue("X-Trace-Id").orElseThrow(), "every response names its trace");

            Await.until(() -> otlp.trace(TRACE).size() >= 2, "the server and client spans are exported");
            List<OtlpReceiver.ReceivedSpan> spans = otlp.trace(TRACE);
            OtlpReceiver.ReceivedSpan server = spans.stream().filter(s -> s.kind().equals("SPAN_KIND_SERVER")).findFirst().orElseThrow();
            OtlpReceiver.ReceivedSpan client = spans.stream().filter(s -> s.kind().equals("SPAN_KIND_CLIENT")).findFirst().orElseThrow();

            assertEquals("sidegate-under-test", server.service());
            assertEquals(CLIENT_PARENT, server.parentSpanId(), "the server span continues the client's trace");
            assertEquals(server.spanId(), client.parentSpanId(), "the client span is the server span's child");
            assertEquals("GET /api", server.name());
            assertEquals("GET", server.attribute("http.request.method").orElseThrow());
            assertEquals("/api", server.attribute("http.route").orElseThrow());
            assertEquals("200", server.attribute("http.response.status_code").orElseThrow());
            assertEquals("/api/orders/7", server.attribute("url.path").orElseThrow(), "no query string: it may carry secrets");
            assertEquals("allowed", server.attribute("sidegate.rate_limit.decision").orElseThrow());
            assertEquals("default", server.attribute("sidegate.rate_limit.tier").orElseThrow());
            assertEquals("closed", server.attribute("sidegate.circuit.state").orElseThrow());
            assertEquals("127.0.0.1", client.attribute("server.address").orElseThrow());
            assertEquals(String.valueOf(upstream.port()), client.attribute("server.port").orElseThrow());
            assertEquals("200", client.attribute("http.response.status_code").orElseThrow());

            TestUpstream.Recorded seen = upstream.last();
            assertEquals("00-" + TRACE + "-" + client.spanId() + "-01", seen.header("traceparent").orElseThrow(),
                         "the upstream's spans join the trace under Sidegate's client span");
            assertEquals("vendor=abc", seen.header("tracestate").orElseThrow());
            assertEquals("tenant=acme", seen.header("baggage").orElseThrow());
        }
    }

    @Test
    void problemBodiesCarryTheServerSpansTraceId() throws Exception {
        try (OtlpReceiver otlp = new OtlpReceiver();
             SidegateFixture sg = SidegateFixture.start("routes:\n  - path: /api\n",
                                                        Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint(),
                                                               "OTEL_BSP_SCHEDULE_DELAY", "50"))) {
            HttpResponse<String> response = sg.get("/nowhere");
            assertEquals(404, response.statusCode());
            String traceId = JSON.readTree(response.body()).get("trace_id").asText();
            Await.until(() -> !otlp.trace(traceId).isEmpty(), "the 404's server span is exported");
            OtlpReceiver.ReceivedSpan span = otlp.trace(traceId).get(0);
            assertEquals("404", span.attribute("http.response.status_code").orElseThrow());
            assertFalse(span.attribute("http.route").isPresent(), "no route matched");
        }
    }

    @Test
    void spansAreExportedEvery200MsUnlessTheEnvironmentSaysOtherwise() {
        assertEquals("200", Tracing.properties(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"))
                .get("otel.bsp.schedule.delay"), "short enough that waiting spans are not promoted");
        assertEquals("5000", Tracing.properties(Map.of("OTEL_BSP_SCHEDULE_DELAY", "5000")).get("otel.bsp.schedule.delay"),
                     "the standard variable wins");
    }

    @Test
    void withoutAnExporterNothingIsExportedAndTracesStillPropagate() {
        try (TestUpstream upstream = TestUpstream.start();
             SidegateFixture sg = SidegateFixture.start(null, Map.of("SIDEGATE_UPSTREAM", upstream.url()))) {
            SidegateFixture.send(HttpRequest.newBuilder(sg.uri("/x"))
                                         .header("traceparent", "00-" + TRACE + "-" + CLIENT_PARENT + "-01").build());
            String traceparent = upstream.last().header("traceparent").orElseThrow();
            assertTrue(traceparent.startsWith("00-" + TRACE + "-"), traceparent);
            assertFalse(traceparent.contains(CLIENT_PARENT), "Sidegate's own client span is the upstream's parent");
            assertTrue(traceparent.endsWith("-01"), "the client's sampling decision travels on: " + traceparent);

            HttpResponse<String> fresh = SidegateFixture.send(HttpRequest.newBuilder(sg.uri("/y")).build());
            String traceId = fresh.headers().firstValue("X-Trace-Id").orElseThrow();
            String started = upstream.last().header("traceparent").orElseThrow();
            assertTrue(started.matches("00-" + traceId + "-[0-9a-f]{16}-00"),
                       "a request without a trace starts one, not sampled, that the upstream joins: " + started);
            assertFalse(started.contains("-0000000000000000-"));
        }
    }
}
