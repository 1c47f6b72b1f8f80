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

import dev.sidegate.testing.SidegateFixture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs every command that demo mode prints, against the Sidegate that printed them, and checks what each comment says. */
final class PrintedCommands {
    private static final Pattern CURL = Pattern.compile(
            "curl [^\\n]*?(?<!Origin: )'?(http://localhost:\\d+[^' ;\\n]*)'?[^\\n#]*#\\s*(.*)");

    private PrintedCommands() {
    }

    private static int expectedStatus(String comment) {
        for (int status : new int[] {204, 400, 401, 403, 404}) {
            if (comment.contains(String.valueOf(status))) {
                return status;
            }
        }
        return 200;
    }

    /** {@code text} is demo mode's printed instructions, as {@code Demo.instructions} makes them. */
    static void assertEveryCommandWorks(String text) throws Exception {
        Map<String, String> shell = new HashMap<>();
        Matcher exports = Pattern.compile("export (\\w+)=(\\S+)").matcher(text);
        while (exports.find()) {
            shell.put(exports.group(1), exports.group(2));
        }
        assertEquals(java.util.Set.of("TOKEN", "ADMIN_TOKEN"), shell.keySet(), text);
        Matcher page = Pattern.compile("page +(http://localhost:\\d+/) ").matcher(text);
        assertTrue(page.find(), text);
        HttpResponse<String> html = SidegateFixture.send(HttpRequest.newBuilder(URI.create(page.group(1))).build());
        assertEquals(200, html.statusCode());
        assertTrue(html.body().contains("<title>Sidegate</title>"), "the admin page");
        List<String[]> commands = new ArrayList<>();
        Matcher m = CURL.matcher(text);
        while (m.find()) {
            commands.add(new String[] {m.group(0), m.group(1), m.group(2)});
        }
        assertEquals(18, commands.size(), text);
        for (String[] command : commands) {
            String line = command[0];
            String url = command[1];
            String comment = command[2];
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url));
            Matcher auth = Pattern.compile("Authorization: Bearer \\$(\\w+)").matcher(line);
            if (auth.find()) {
                request.header("Authorization", "Bearer " + shell.get(auth.group(1)));
            }
            Matcher data = Pattern.compile(" -d '([^']*)'").matcher(line);
            Matcher contentType = Pattern.compile("-H 'Content-Type: ([^']*)'").matcher(line);
            if (data.find()) {
                request.POST(HttpRequest.BodyPublishers.ofString(data.group(1)));
            } else if (line.contains("-X POST")) {
                request.POST(HttpRequest.BodyPublishers.noBody());
            }
            if (contentType.find()) {
                request.header("Content-Type", contentType.group(1));
            }
            if (line.contains("-X OPTIONS")) {
                request.method("OPTIONS", HttpRequest.BodyPublishers.noBody());
                Matcher header = Pattern.compile("-H '([\\w-]+): ([^']*)'").matcher(line);
                while (header.find()) {
                    request.header(header.group(1), header.group(2));
                }
            }
            if (comment.endsWith("200 200 200 429")) { // the printed loop runs the command four times
                List<Integer> statuses = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    statuses.add(SidegateFixture.send(request.build()).statusCode());
                }
                assertEquals(List.of(200, 200, 200, 429), statuses, line);
                continue;
            }
            if (comment.endsWith("200 200 200")) { // the printed loop runs it three times
                List<Integer> statuses = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    statuses.add(SidegateFixture.send(request.build()).statusCode());
                }
                assertEquals(List.of(200, 200, 200), statuses, line);
                continue;
            }
            if (comment.startsWith("WebSocket handshake")) {
                // HttpClient may not send Connection or Upgrade itself: its WebSocket client makes the handshake.
                java.util.concurrent.BlockingQueue<String> echoed = new java.util.concurrent.LinkedBlockingQueue<>();
                java.net.http.WebSocket ws = java.net.http.HttpClient.newHttpClient().newWebSocketBuilder()
                        .buildAsync(URI.create(url.replace("http://", "ws://")), new java.net.http.WebSocket.Listener() {
                            @Override
                            public java.util.concurrent.CompletionStage<?> onText(java.net.http.WebSocket w,
                                                                                  CharSequence data, boolean last) {
                                echoed.add(data.toString());
                                return null;
                            }
                        }).join();
                ws.sendText("hi", true).join();
                assertEquals("echo: hi", echoed.poll(30, java.util.concurrent.TimeUnit.SECONDS));
                ws.sendClose(1000, "").join();
                continue;
            }
            HttpResponse<String> response = SidegateFixture.send(request.build());
            if (comment.startsWith("what shadow mode")) {
                assertTrue(response.body().contains("sidegate_rate_limit_decisions_total{decision=\"shadow_denied\"} 1.0"),
                           response.body());
                assertTrue(response.body().contains("sidegate_auth_audit_denied_total{route=\"/api/v1/reports\"} 3.0"),
                           response.body());
            }
            if (comment.startsWith("bodies the v1 -> v2 transform holds")) {
                assertTrue(response.body().contains("sidegate_buffered_body_bytes 0.0"), response.body());
            }
            if (comment.startsWith("RateLimit-Policy")) {
                assertEquals(429, response.statusCode(), "the loop above used up the minute's 3 requests");
                assertTrue(response.headers().firstValue("RateLimit-Policy").isPresent());
                continue;
            }
            int expected = expectedStatus(comment);
            assertEquals(expected, response.statusCode(), line + " -> " + response.body());
            if (comment.startsWith("CORS preflight")) {
                assertEquals("http://localhost:3000", response.headers().firstValue("Access-Control-Allow-Origin").orElseThrow());
                assertEquals("authorization, content-type", response.headers().firstValue("Access-Control-Allow-Headers").orElseThrow());
                continue;
            }
            if (comment.contains("X-Forwarded")) {
                assertTrue(response.body().contains("\"X-Forwarded-For\""), response.body());
            }
            if (comment.contains("X-Request-Id")) {
                String id = response.headers().firstValue("X-Request-Id").orElseThrow();
                assertTrue(response.body().contains("\"X-Request-Id\" : \"" + id + "\""), response.body());
            }
            if (comment.contains("X-User-ID")) {
                assertTrue(response.body().contains("\"X-User-ID\" : \"demo-user\""), response.body());
                String traceId = response.headers().firstValue("X-Trace-Id").orElseThrow();
                assertTrue(response.body().contains("\"traceparent\" : \"00-" + traceId), "the echo sees the trace");
            }
            if (comment.contains("rewritten to v2")) {
                assertTrue(response.body().contains("\"path\" : \"/api/v2/orders\""), response.body());
                assertTrue(response.body().contains("{\\\"customer\\\":{\\\"id\\\":\\\"c1\\\"},\\\"line_items\\\""),
                           response.body());
                assertEquals("v1-via-v2", response.headers().firstValue("X-Api-Version").orElseThrow());
            }
            if (comment.contains("Server-Sent Events")) {
                assertTrue(response.body().contains("data: {\"tick\": 5, \"of\": 5}"), response.body());
            }
            if (expected != 200) {
                assertTrue(response.body().contains("\"trace_id\""), response.body());
            }
        }
    }
}
