package dev.sidegate.proxy;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import dev.sidegate.testing.Patterns;
import dev.sidegate.testing.RawHttp;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bodies stream through in both directions: the tests below deadlock (and fail on their deadline) if Sidegate
 * waited for a whole body before passing it on.
 */
class StreamingTest {
    private static final long BIG = 64L * 1024 * 1024;
    private static TestUpstream upstream;
    private static SidegateFixture sidegate;

    @BeforeAll
    static void start() {
        upstream = TestUpstream.start();
        sidegate = SidegateFixture.start(null, Map.of("SIDEGATE_UPSTREAM", upstream.url()));
    }

    @AfterAll
    static void stop() {
        sidegate.close();
        upstream.close();
    }

    @Test
    void serverSentEventsReachTheClientAsTheUpstreamSendsThem() throws Exception {
        CountDownLatch clientSawFirst = new CountDownLatch(1);
        upstream.handle("/sse", (req, res) -> {
            res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "text/event-stream"));
            try (OutputStream out = res.outputStream()) {
                out.write("data: first\n\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
                boolean seen = clientSawFirst.await(10, TimeUnit.SECONDS);
                out.write(("data: " + (seen ? "second" : "upstream-gave-up-waiting") + "\n\n").getBytes(StandardCharsets.UTF_8));
            }
        });
        HttpResponse<InputStream> response = SidegateFixture.http().send(
                HttpRequest.newBuilder(sidegate.uri("/sse")).build(), HttpResponse.BodyHandlers.ofInputStream());
        assertEquals("text/event-stream", response.headers().firstValue("Content-Type").orElseThrow());
        try (BufferedReader events = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            assertEquals("data: first", events.readLine());
            clientSawFirst.countDown();
            assertEquals("", events.readLine());
            assertEquals("data: second", events.readLine());
        }
    }

    @Test
    void requestBodiesReachTheUpstreamWhileTheClientIsStillSending() throws Exception {
        CountDownLatch upstreamSawFirstPart = new CountDownLatch(1);
        upstream.handle("/upload-live", (req, res) -> {
            InputStream in = req.content().inputStream();
            byte[] first = in.readNBytes(5);
            upstreamSawFirstPart.countDown();
            byte[] rest = in.readAllBytes();
            res.send((new String(first, StandardCharsets.UTF_8) + "|" + new String(rest, StandardCharsets.UTF_8))
                             .getBytes(StandardCharsets.UTF_8));
        });
        try (RawHttp client = new RawHttp(sidegate.port())) {
            client.send("POST /upload-live HTTP/1.1\r\nHost: c\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                + "5\r\npart1\r\n");
            assertTrue(upstreamSawFirstPart.await(10, TimeUnit.SECONDS),
                       "the upstream must see the first chunk before the client finishes the body");
            client.send("5\r\npart2\r\n0\r\n\r\n");
            RawHttp.Response response = client.read(true);
            assertEquals(200, response.status());
            assertEquals("part1|part2", response.text());
        }
    }

    @Test
    void largeChunkedUploadArrivesIntact() throws Exception {
        HttpResponse<String> response = SidegateFixture.http().send(
                HttpRequest.newBuilder(sidegate.uri("/upload-big"))
                        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> Patterns.stream(BIG)))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode());
        TestUpstream.Recorded seen = upstream.last();
        assertEquals(BIG, seen.bodyLength());
        assertEquals(Patterns.sha256(BIG), seen.bodySha256());
    }

    @Test
    void largeFixedLengthUploadKeepsItsContentLength() throws Exception {
        long n = 8L * 1024 * 1024;
        HttpRequest request = HttpRequest.newBuilder(sidegate.uri("/upload-fixed"))
                .POST(HttpRequest.BodyPublishers.fromPublisher(
                        HttpRequest.BodyPublishers.ofInputStream(() -> Patterns.stream(n)), n))
                .build();
        HttpResponse<Void> response = SidegateFixture.http().send(request, HttpResponse.BodyHandlers.discarding());
        assertEquals(200, response.statusCode());
        TestUpstream.Recorded seen = upstream.last();
        assertEquals(String.valueOf(n), seen.header("Content-Length").orElseThrow());
        assertTrue(seen.header("Transfer-Encoding").isEmpty());
        assertEquals(Patterns.sha256(n), seen.bodySha256());
    }

    @Test
    void largeDownloadsArriveIntactWithAndWithoutContentLength() throws Exception {
        for (boolean chunked : new boolean[] {false, true}) {
            HttpResponse<InputStream> response = SidegateFixture.http().send(
                    HttpRequest.newBuilder(sidegate.uri("/bytes?n=" + BIG + "&chunked=" + chunked)).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, response.statusCode());
            assertEquals(chunked, response.headers().firstValue("Content-Length").isEmpty());
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            long total = 0;
            try (InputStream in = response.body()) {
                byte[] buffer = new byte[64 * 1024];
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    digest.update(buffer, 0, n);
                    total += n;
                }
            }
            assertEquals(BIG, total);
            assertEquals(Patterns.sha256(BIG), HexFormat.of().formatHex(digest.digest()));
        }
    }
}
