package dev.sidegate.testing;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.webserver.WebServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;

/** A real OTLP/HTTP trace receiver: accepts the SDK's protobuf export requests and keeps the spans. */
public final class OtlpReceiver implements AutoCloseable {
    private final WebServer server;
    private final List<ReceivedSpan> spans = new CopyOnWriteArrayList<>();

    /** A span as exported, with ids in lower-case hex. */
    public record ReceivedSpan(String service, String name, String kind, String traceId, String spanId, String parentSpanId,
                               Map<String, String> attributes) {
        public Optional<String> attribute(String key) {
            return Optional.ofNullable(attributes.get(key));
        }
    }

    public OtlpReceiver() {
        server = WebServer.builder()
                .host("127.0.0.1")
                .port(0)
                .shutdownHook(false)
                .featuresDiscoverServices(false)
                .routing(r -> r.post("/v1/traces", (req, res) -> {
                    ExportTraceServiceRequest export = ExportTraceServiceRequest.parseFrom(req.content().inputStream());
                    for (ResourceSpans rs : export.getResourceSpansList()) {
                        String service = rs.getResource().getAttributesList().stream()
                                .filter(kv -> kv.getKey().equals("service.name")).map(kv -> kv.getValue().getStringValue())
                                .findFirst().orElse("");
                        for (ScopeSpans ss : rs.getScopeSpansList()) {
                            for (io.opentelemetry.proto.trace.v1.Span s : ss.getSpansList()) {
                                Map<String, String> attributes = s.getAttributesList().stream().collect(Collectors.toMap(
                                        kv -> kv.getKey(), kv -> text(kv.getValue()), (a, b) -> b));
                                spans.add(new ReceivedSpan(service, s.getName(), s.getKind().name(),
                                                           hex(s.getTraceId().toByteArray()), hex(s.getSpanId().toByteArray()),
                                                           hex(s.getParentSpanId().toByteArray()), attributes));
                            }
                        }
                    }
                    res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "application/x-protobuf"));
                    res.send(new byte[0]);
                }))
                .build()
                .start();
    }

    public String endpoint() {
        return "http://127.0.0.1:" + server.port();
    }

    public List<ReceivedSpan> spans() {
        return new ArrayList<>(spans);
    }

    public List<ReceivedSpan> trace(String traceId) {
        return spans.stream().filter(s -> s.traceId().equals(traceId)).toList();
    }

    private static String text(AnyValue v) {
        return switch (v.getValueCase()) {
            case STRING_VALUE -> v.getStringValue();
            case INT_VALUE -> Long.toString(v.getIntValue());
            case BOOL_VALUE -> Boolean.toString(v.getBoolValue());
            case DOUBLE_VALUE -> Double.toString(v.getDoubleValue());
            default -> v.toString();
        };
    }

    private static String hex(byte[] bytes) {
        return bytes.length == 0 ? "" : HexFormat.of().formatHex(bytes);
    }

    @Override
    public void close() {
        server.stop();
    }
}
