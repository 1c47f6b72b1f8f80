package dev.sidegate.upstream;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidegate.testing.Await;
import dev.sidegate.testing.RawHttp;
import dev.sidegate.testing.ScriptedUpstream;
import dev.sidegate.testing.ScriptedUpstream.Reply;
import dev.sidegate.testing.SidegateFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sidegate's upstream connection layer through the real server, against raw upstreams that misbehave on purpose:
 * pooling, reuse and discarding, strict response parsing, interim responses, idle closes and the one safe retry.
 */
class UpstreamConnectionsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String GET = "GET /x HTTP/1.1\r\nHost: c\r\n\r\n";

    private static SidegateFixture sidegate(ScriptedUpstream upstream) {
        return SidegateFixture.start(null, Map.of("SIDEGATE_UPSTREAM", upstream.url()));
    }

    private static SidegateFixture sidegate(String yaml) {
        return SidegateFixture.start(yaml, Map.of());
    }

    private static RawHttp.Response get(SidegateFixture sg, String path) throws IOException {
        return RawHttp.exchange(sg.port(), "GET " + path + " HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n");
    }

    private static JsonNode problem(RawHttp.Response response) throws IOException {
        assertEquals("application/problem+json", response.header("Content-Type").orElse(""), response.text());
        return JSON.readTree(response.body());
    }

    @Test
    void sequentialRequestsOnOneClientConnectionReuseOneUpstreamConnection() throws Exception {
        AtomicInteger n = new AtomicInteger();
        try (ScriptedUpstream upstream = new ScriptedUpstream(r -> n.incrementAndGet() % 2 == 0
                ? Reply.of("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nlength")
                : Reply.of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nchunked\r\n0\r\n\r\n"));
             SidegateFixture sg = sidegate(upstream);
             RawHttp client = new RawHttp(sg.port())) {
            for (int i = 0; i < 50; i++) {
                client.send(GET);
                RawHttp.Response response = client.read(true);
                assertEquals(200, response.status());
                assertEquals(i % 2 == 0 ? "chunked" : "length", response.text());
            }
            assertEquals(1, upstream.connections(), "50 sequential requests, one upstream connection");
        }
    }

    /** Responses a different parser could read differently; each must be a 502 and cost its connection. */
    static List<String> ambiguousResponses() {
        String smuggled = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nSMUGGLED";
        return List.of(
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + smuggled,
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n" + smuggled,
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
                "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello",
                "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
                "HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\nhello",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
                "HTTP/1.1 200 OK\r\nX-Folded: a\r\n  b\r\nContent-Length: 2\r\n\r\nok",
                "HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
                "HTTP/1.1 200 OK\r\nContent-Length: 2\n\r\nok",
                "HTTP/1.1 200 OK\r\nX-Nul: a\u0000b\r\nContent-Length: 2\r\n\r\nok",
                "HTTP/1.1 200 OK\r\nX-Cr: a\rb\r\nContent-Length: 2\r\n\r\nok",
                "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
                "HTTP/1.1 200 OK\r\n: no-name\r\nContent-Length: 2\r\n\r\nok",
                "HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nok",
                "HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
                "HTTP/1.1 200 O\u0001K\r\nContent-Length: 2\r\n\r\nok",
                "HTTP/1.1 204 No Content\r\nContent-Length: 8\r\n\r\nSMUGGLED",
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
                "HTTP/1.1 200 " + "x".repeat(9000) + "\r\nContent-Length: 2\r\n\r\nok",
                "HTTP/1.1 200 OK\r\nX-Big: " + "x".repeat(70_000) + "\r\nContent-Length: 2\r\n\r\nok",
                "HTTP/1.1 200 OK\r\n" + "X-Many: 1\r\n".repeat(300) + "Content-Length: 2\r\n\r\nok",
                "HTTP/1.1 100 Continue\r\n\r\n".repeat(20) + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }

    @ParameterizedTest
    @MethodSource("ambiguousResponses")
    void anAmbiguousOrInvalidResponseIs502AndItsConnectionNeverServesAnotherClient(String bad) throws Exception {
        AtomicInteger n = new AtomicInteger();
        try (ScriptedUpstream upstream = new ScriptedUpstream(r -> n.incrementAndGet() == 1
                ? Reply.of(bad)
                : Reply.of("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"));
             SidegateFixture sg = sidegate(upstream)) {
            RawHttp.Response first = get(sg, "/first");
            assertEquals(502, first.status(), first.text());
            JsonNode problem = problem(first);
            assertEquals("urn:sidegate:problem:upstream-bad-response", problem.get("type").asText());
            assertTrue(problem.get("detail").asText().startsWith("the upstream of route / sent an invalid or ambiguous response: "),
                       problem.get("detail").asText());
            assertFalse(first.text().contains("SMUGGLED"));

            RawHttp.Response second = get(sg, "/second");
            assertEquals(200, second.status());
            assertEquals("second", second.text(), "the next client gets its own response, never the leftovers");
            assertEquals(2, upstream.connections(), "the connection that carried the bad response was not reused");
            Await.until(() -> upstream.closedByPeer().contains(1), "Sidegate closes the connection of the bad response");
        }
    }

    @Test
    void anInvalidChunkThatArrivesAfterTheHeadIsStillA502() throws Exception {
        try (ScriptedUpstream upstream = new ScriptedUpstream(r -> Reply.inParts(
                200, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "not-hex\r\nhello\r\n0\r\n\r\n"));
             SidegateFixture sg = sidegate(upstream)) {
            RawHttp.Response response = get(sg, "/late");
            assertEquals(502, response.status());
            assertEquals("urn:sidegate:problem:upstream-bad-response", problem(response).get("type").asText());
        }
    }

    @Test
    void interimResponsesAreNeverTakenForTheFinalOne() throws Exception {
        AtomicInteger n = new AtomicInteger();
        try (ScriptedUpstream upstream = new ScriptedUpstream(r -> n.incrementAndGet() == 1
                ? Reply.of("HTTP/1.1 100 Continue\r\n\r\n"
                                   + "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                                   + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Final: yes\r\n\r\nfinal")
                : Reply.of("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"));
             SidegateFixture sg = sidegate(upstream)) {
            RawHttp.Response first = get(sg, "/first");
            assertEquals(200, first.status());
            assertEquals("final", first.text());
            assertEquals("yes", first.header("X-Final").orElseThrow());
            RawHttp.Response second = get(sg, "/second");
            assertEquals("second", second.text(), "the next client gets its own response");
            assertEquals(1, upstream.connections(), "a clean exchange with interim responses keeps its connection");
        }
    }

    @Test
    void trailersAreReadSoTheConnectionStaysUsable() throws Exception {
        try (ScriptedUpstream upstream = new ScriptedUpstream(r -> Reply.of(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
                        + "4;ext=1\r\nwith\r\n9\r\n trailers\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"));
             SidegateFixture sg = sidegate(upstream)) {
            for (int i = 0; i < 3; i++) {
                RawHttp.Response response = get(sg, "/t" + i);
                assertEquals(200, response.status());
                assertEquals("with trailers", response.text());
            }
            assertEquals(1, upstream.connections());
        }
    }

    @Test
    void aResponseDelimitedByTheCloseArrivesWholeAndTheConnectionIsNotReused() throws Exception {
        try (ScriptedUpstream upstream = new ScriptedUpstream(r -> Reply.andClose(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the upstream closes"));
             SidegateFixture sg = sidegate(upstream)) {
            RawHttp.Response first = get(sg, "/a");
            assertEquals("until the upstream closes", first.text());
            assertEquals("chunked", first.header("Transfer-Encoding").orElse(""));
            assertEquals("until the upstream closes", get(sg, "/b").text());
            assertEquals(2, upstream.connections());
        }
    }

    @Test
    void headNoContentAndNotModifiedResponsesHaveNoBodyAndKeepTheConnection() throws Exception {
        try (ScriptedUpstream upstream = new ScriptedUpstream(r -> switch (r.target()) {
            case "/head" -> Reply.of("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
            case "/head-chunked" -> Reply.of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            case "/204" -> Reply.of("HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n");
            case "/304" -> Reply.of("HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 99\r\n\r\n");
            default -> Reply.of("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone");
        });
             SidegateFixture sg = sidegate(upstream);
             RawHttp client = new RawHttp(sg.port())) {
            client.send("HEAD /head HTTP/1.1\r\nHost: c\r\n\r\n");
            RawHttp.Response head = client.read(false);
            assertEquals("1234", head.header("Content-Length").orElseThrow());
            client.send("HEAD /head-chunked HTTP/1.1\r\nHost: c\r\n\r\n");
            assertEquals(200, client.read(false).status());
            client.send("GET /204 HTTP/1.1\r\nHost: c\r\n\r\n");
            assertEquals(204, client.read(true).status());
            client.send("GET /304 HTTP/1.1\r\nHost: c\r\nIf-None-Match: \"v1\"\r\n\r\n");
            RawHttp.Response notModified = client.read(true);
            assertEquals(304, notModified.status());
            assertEquals("\"v1\"", notModified.header("ETag").orElseThrow());
            client.send(GET);
            RawHttp.Response last = client.read(true);
            assertEquals("done", last.text(), "no body was expected where there was none: the stream is in sync");
            assertEquals(1, upstream.connections());
        }
    }

    @Test
    void connectionCloseFromTheUpstreamIsHonoured() throws Exception {
        try (ScriptedUpstream upstream = new ScriptedUpstream(r -> Reply.of(
                "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"));
             SidegateFixture sg = sidegate(upstream)) {
            assertEquals("ok", get(sg, "/1").text());
            assertEquals("ok", get(sg, "/2").text());
            assertEquals(2, upstream.connections());
            Await.until(() -> upstream.closedByPeer().contains(1), "Sidegate closes a connection the upstream asked to close");
        }
    }

    @Test
    void anHttp10ResponseIsRelayedAndItsConnectionNotReused() throws Exception {
        try (ScriptedUpstream upstream = new ScriptedUpstream(r -> Reply.of("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold"));
             SidegateFixture sg = sidegate(upstream)) {
            assertEquals("old", get(sg, "/1").text());
            assertEquals("old", get(sg, "/2").text());
            assertEquals(2, upstream.connections());
        }
    }

    @Test
    void anIdleConnectionTheUpstreamClosedIsNotUsedAgain() throws Exception {
        try (ScriptedUpstream upstream = ScriptedUpstream.ok("fine");
             SidegateFixture sg = sidegate(upstream)) {
            assertEquals("fine", get(sg, "/1").text());
            Await.until(() -> upstream.idleConnections() == 1, "the connection is idle in the pool");
            assertEquals(1, upstream.closeIdleConnections());
            for (String method : List.of("GET", "POST")) {
                RawHttp.Response response = RawHttp.exchange(sg.port(), method + " /2 HTTP/1.1\r\nHost: c\r\n"
                        + "Content-Length: 4\r\nConnection: close\r\n\r\nbody");
                assertEquals(200, response.status(), method + ": " + response.text());
            }
            assertEquals(3, upstream.requests().size(), "every request reached the upstream exactly once");
        }
    }

    @Test
    void aPooledConnectionThatDiesUnansweredIsRetriedOnceOnlyWhenNothingCouldHaveBeenProcessed() throws Exception {
        // The upstream's idle-close race: it takes the request on a reused connection and closes without a word.
        try (ScriptedUpstream upstream = new ScriptedUpstream(r -> r.indexOnConnection() > 1
                ? Reply.closeSilently()
                : Reply.of("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
             SidegateFixture sg = sidegate(upstream)) {
            assertEquals("ok", get(sg, "/warm").text());

            RawHttp.Response get = get(sg, "/idempotent");
            assertEquals(200, get.status(), "a GET without a body is sent again on a new connection");
            assertEquals(List.of("/warm", "/idempotent", "/idempotent"), upstream.requests().stream().map(ScriptedUpstream.Request::target).toList());

            int before = upstream.requests().size();
            RawHttp.Response post = RawHttp.exchange(sg.port(), "POST /order HTTP/1.1\r\nHost: c\r\nContent-Length: 5\r\n"
                    + "Connection: close\r\n\r\nhello");
            assertEquals(502, post.status(), "a POST whose body went upstream is never sent twice");
            assertEquals("urn:sidegate:problem:upstream-failed", problem(post).get("type").asText());
            assertEquals(before + 1, upstream.requests().size());

            assertEquals("ok", get(sg, "/warm-again").text());
            before = upstream.requests().size();
            RawHttp.Response bodilessPost = RawHttp.exchange(sg.port(), "POST /trigger HTTP/1.1\r\nHost: c\r\n"
                    + "Connection: close\r\n\r\n");
            assertEquals(502, bodilessPost.status(), "a POST may have been processed even without a body: not retried");
            assertEquals(before + 1, upstream.requests().size());
        }
    }

    @Test
    void thePoolKeepsAtMostMaxIdleConnectionsAndClosesThoseIdleTooLong() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch arrived = new CountDownLatch(3);
        try (ScriptedUpstream upstream = new ScriptedUpstream(r -> {
            if (r.target().startsWith("/hold")) {
                arrived.countDown();
                release.await(20, TimeUnit.SECONDS);
            }
            return Reply.of("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
             SidegateFixture sg = sidegate("""
                     upstream: %s
                     upstreams:
                       default:
                         connections:
                           max_idle: 1
                           idle_timeout: 300ms
                     """.formatted(upstream.url()))) {
            List<Thread> clients = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                int id = i;
                clients.add(Thread.ofVirtual().start(() -> {
                    try {
                        assertEquals("ok", get(sg, "/hold/" + id).text());
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                }));
            }
            assertTrue(arrived.await(20, TimeUnit.SECONDS), "three requests in flight at once");
            assertEquals(3, upstream.connections());
            release.countDown();
            for (Thread t : clients) {
                t.join();
            }
            Await.until(() -> upstream.closedByPeer().size() >= 2, "two of three connections closed: max_idle is 1");
            Await.until(() -> upstream.closedByPeer().size() == 3, "the last idle connection closed after idle_timeout");
            // the stub counts a close before its handler forgets the socket: wait for that, not only for the close
            Await.until(() -> upstream.openConnections() == 0, "no upstream connection left open");
        }
    }

    @Test
    void shutdownClosesEveryUpstreamConnection() throws Exception {
        try (ScriptedUpstream upstream = ScriptedUpstream.ok("ok")) {
            SidegateFixture sg = sidegate(upstream);
            assertEquals("ok", get(sg, "/x").text());
            Await.until(() -> upstream.idleConnections() == 1, "a pooled connection");
            sg.close();
            Await.until(() -> upstream.closedByPeer().contains(1), "the pooled connection is closed on shutdown");
        }
    }

    @Test
    void requestFramingIsSidegatesOwn() throws Exception {
        try (ScriptedUpstream upstream = ScriptedUpstream.ok("ok");
             SidegateFixture sg = sidegate(upstream);
             RawHttp client = new RawHttp(sg.port())) {
            client.send("GET /get HTTP/1.1\r\nHost: c\r\nContent-Length: 0\r\n\r\n");
            client.read(true);
            ScriptedUpstream.Request get = upstream.last();
            assertTrue(get.header("Content-Length").isEmpty() && get.header("Transfer-Encoding").isEmpty(), get.head());

            client.send("POST /empty HTTP/1.1\r\nHost: c\r\n\r\n");
            client.read(true);
            assertEquals("0", upstream.last().header("Content-Length").orElseThrow(), "POST without a body says so");

            client.send("PUT /sized HTTP/1.1\r\nHost: c\r\nContent-Length: 5\r\n\r\nhello");
            client.read(true);
            ScriptedUpstream.Request sized = upstream.last();
            assertEquals("5", sized.header("Content-Length").orElseThrow());
            assertEquals("hello", sized.bodyText());

            client.send("POST /chunked HTTP/1.1\r\nHost: c\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
            client.read(true); // the last request on this client connection (server.after_chunked_request: close)
            ScriptedUpstream.Request chunked = upstream.last();
            assertEquals("chunked", chunked.header("Transfer-Encoding").orElseThrow());
            assertTrue(chunked.header("Content-Length").isEmpty());
            assertEquals("abcde", chunked.bodyText());
            assertEquals(1, upstream.connections());
        }
    }

    @Test
    void anEarlyAnswerToAnUploadReachesTheClient() throws Exception {
        try (ScriptedUpstream upstream = new ScriptedUpstream(r -> Reply.andClose(
                "HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Length: 8\r\n\r\ntoo big!"));
             SidegateFixture sg = sidegate(upstream)) {
            RawHttp.Response response = RawHttp.exchange(sg.port(), "POST /upload HTTP/1.1\r\nHost: c\r\nContent-Length: 10\r\n"
                    + "Connection: close\r\n\r\n0123456789");
            assertEquals(413, response.status());
            assertEquals("too big!", response.text());
        }
    }

    @Test
    void aBodyThatStallsBeforeItsFirstByteIs504() throws Exception {
        try (ScriptedUpstream upstream = new ScriptedUpstream(r -> Reply.inParts(
                3000, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n", "late"));
             SidegateFixture sg = sidegate("""
                     upstream: %s
                     routes:
                       - path: /
                         timeout: 300ms
                     """.formatted(upstream.url()))) {
            RawHttp.Response response = get(sg, "/stall");
            assertEquals(504, response.status());
            assertEquals("urn:sidegate:problem:upstream-timeout", problem(response).get("type").asText());
        }
    }

    @Test
    void aConnectTimeoutIs504() throws Exception {
        // A listener whose accept queue is full drops further SYNs: connects to it time out.
        try (ServerSocket full = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            List<Socket> fillers = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    Socket s = new Socket();
                    try {
                        s.connect(full.getLocalSocketAddress(), 200);
                        fillers.add(s);
                    } catch (IOException e) {
                        s.close();
                        break;
                    }
                }
                try (SidegateFixture sg = sidegate("""
                        routes:
                          - path: /
                            upstream: http://127.0.0.1:%d
                            connect_timeout: 300ms
                            retry: {attempts: 0}
                        """.formatted(full.getLocalPort()))) {
                    RawHttp.Response response = get(sg, "/x");
                    assertEquals(504, response.status());
                    assertEquals("urn:sidegate:problem:upstream-connect-timeout", problem(response).get("type").asText());
                }
            } finally {
                for (Socket s : fillers) {
                    s.close();
                }
            }
        }
    }
}
