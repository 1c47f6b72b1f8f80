package dev.sidegate.ratelimit;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import dev.sidegate.testing.Await;
import dev.sidegate.testing.RedisFixture;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.sidegate.ratelimit.RateLimitTest.LIMITS;
import static dev.sidegate.ratelimit.RateLimitTest.freshIp;
import static dev.sidegate.ratelimit.RateLimitTest.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sidegate's own client for a standalone Redis: through the real server against a real Redis (password, database,
 * the connection bound), and directly against a scripted socket server for what a real Redis never sends
 * (malformed replies, no reply at all).
 */
class RespConnectionsTest {
    private static final String SCRIPT = "return {1, 4, 0}";
    private static final String SHA = dev.sidegate.proxy.Digests.sha1Hex(SCRIPT);
    private static ScheduledExecutorService timers;

    @BeforeAll
    static void start() {
        RateLimitTest.upstream = TestUpstream.start();
        timers = Executors.newSingleThreadScheduledExecutor();
    }

    @AfterAll
    static void stop() {
        RateLimitTest.upstream.close();
        timers.shutdownNow();
    }

    @Test
    void thePasswordAndDatabaseOfTheUrlAreUsedAndThePasswordIsNeverLogged() {
        List<String> logged = new CopyOnWriteArrayList<>();
        java.util.logging.Handler handler = capture(logged);
        try (RedisFixture redis = RedisFixture.startWithPassword("pw-7f3a91");
             SidegateFixture sg = SidegateFixture.start(LIMITS, RateLimitTest.env(redis.url() + "/3"))) {
            String ip = freshIp();
            List<Integer> statuses = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                statuses.add(send(sg, "/api/auth", ip).statusCode());
            }
            assertEquals(List.of(200, 200, 200, 200, 200, 429), statuses, "the shared bucket of 5, then 429");
            assertTrue(sg.admin("/observe/health/ready").body().contains("redis ok"));
            assertEquals(0L, (long) redis.with(r -> r.dbsize()), "nothing in database 0");
            assertTrue(redis.with(r -> {
                r.select(3);
                return r.dbsize();
            }) > 0, "the buckets are in database 3, as the URL says");
        } finally {
            java.util.logging.Logger.getLogger("").removeHandler(handler);
        }
        assertTrue(logged.stream().noneMatch(line -> line.contains("pw-7f3a91")), "the password is never logged: " + logged);
    }

    @Test
    void aWrongPasswordIsARedisFailureThatNamesAuthButNotThePassword() {
        try (RedisFixture redis = RedisFixture.startWithPassword("right-pw");
             SidegateFixture sg = SidegateFixture.start(LIMITS, RateLimitTest.env(
                     redis.url().replace("right-pw", "wrong-pw-51c2")))) {
            assertEquals(5, RateLimitTest.allowed(sg, "/api/wrong", freshIp(), 6), "local buckets enforce the limit");
            String ready = sg.admin("/observe/health/ready").body();
            assertTrue(ready.contains("redis degraded") && ready.contains("AUTH"), ready);
            assertFalse(ready.contains("wrong-pw-51c2"), ready);
            assertEquals(0L, (long) redis.with(r -> r.dbsize()));
        }
    }

    @Test
    void concurrentCallsShareAtMostSixteenConnections() throws Exception {
        String yaml = LIMITS + """
                rate_limiting:
                  redis:
                    timeout: 10s
                """;
        try (RedisFixture redis = RedisFixture.start();
             SidegateFixture sg = SidegateFixture.start(yaml, RateLimitTest.env(redis.url()))) {
            assertEquals(200, send(sg, "/api/warm", freshIp()).statusCode());
            // Redis answers nobody for a while, so every request below holds its connection until the pause ends.
            redis.with(r -> r.clientPause(1500));
            List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                HttpRequest request = HttpRequest.newBuilder(sg.uri("/api/many")).header("X-Forwarded-For", freshIp()).build();
                inFlight.add(SidegateFixture.http().sendAsync(request, HttpResponse.BodyHandlers.ofString()));
            }
            for (CompletableFuture<HttpResponse<String>> f : inFlight) {
                HttpResponse<String> response = f.get(30, TimeUnit.SECONDS);
                assertEquals(200, response.statusCode());
            }
            assertTrue(sg.admin("/observe/health/ready").body().contains("redis ok"), "decided by Redis, not the failure policy");
            String clients = redis.with(r -> r.clientList());
            long sidegate = clients.lines().filter(l -> l.contains("cmd=evalsha")).count();
            assertEquals(RespConnections.MAX_CONNECTIONS, sidegate, "40 concurrent calls open the 16 connections allowed, "
                    + "no more:\n" + clients);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
            ":12x\r\n",                        // not a number
            "*2\r\n:1\r\n:2\n",                // a bare LF
            "$2\r\nabc\r\n",                   // a bulk string longer than said
            "*99999\r\n",                      // more elements than a reply may hold
            "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", // nested too deep
            "?what\r\n",                       // no such type
            "-ERR a\u001b[2Jb\r\n",             // a control character in an error line (it would reach the logs)
            "$-7\r\n"})                        // a negative length
    void aMalformedReplyFailsTheCallAndItsConnectionIsNotUsedAgain(String reply) throws Exception {
        try (ScriptedRedis server = new ScriptedRedis(reply);
             RespConnections calls = new RespConnections(settings(server.port(), Duration.ofSeconds(5)), timers)) {
            ScriptCalls.CallFailed failed = assertThrows(ScriptCalls.CallFailed.class, () -> calls.run(SCRIPT, SHA, new String[] {"k"}, new String[0]));
            assertTrue(failed.getMessage().contains("malformed reply") || failed.getMessage().contains("closed the connection"),
                       failed.getMessage());
            Await.until(() -> server.closed.get() == 1, "the connection that carried it is closed");
            server.reply = "*3\r\n:1\r\n:4\r\n:0\r\n";
            assertEquals(List.of(1L, 4L, 0L), calls.run(SCRIPT, SHA, new String[] {"k"}, new String[0]));
            assertEquals(2, server.accepted.get(), "the next call opened a new connection");
        }
    }

    @Test
    void aRedisThatNeverAnswersTimesOutAndTheConnectionIsClosed() throws Exception {
        try (ScriptedRedis server = new ScriptedRedis(null);
             RespConnections calls = new RespConnections(settings(server.port(), Duration.ofMillis(100)), timers)) {
            ScriptCalls.CallFailed failed = assertThrows(ScriptCalls.CallFailed.class, () -> calls.run(SCRIPT, SHA, new String[] {"k"}, new String[0]));
            assertEquals("Redis did not answer within 100 ms", failed.getMessage());
            Await.until(() -> server.closed.get() == 1, "the connection that timed out is closed");
        }
    }

    @Test
    void noscriptIsAnsweredByEvalOnTheSameConnection() throws Exception {
        try (ScriptedRedis server = new ScriptedRedis("-NOSCRIPT No matching script\r\n", "*3\r\n:1\r\n:4\r\n:0\r\n");
             RespConnections calls = new RespConnections(settings(server.port(), Duration.ofSeconds(5)), timers)) {
            assertEquals(List.of(1L, 4L, 0L), calls.run(SCRIPT, SHA, new String[] {"k"}, new String[] {"a"}));
            assertEquals(List.of("*5\r\n$7\r\nEVALSHA\r\n$40\r\n" + SHA + "\r\n$1\r\n1\r\n$1\r\nk\r\n$1\r\na\r\n",
                                 "*5\r\n$4\r\nEVAL\r\n$" + SCRIPT.length() + "\r\n" + SCRIPT + "\r\n$1\r\n1\r\n$1\r\nk\r\n$1\r\na\r\n"),
                         List.copyOf(server.commands), "the commands byte for byte");
            assertEquals(1, server.accepted.get());
        }
    }

    @Test
    void anIdleConnectionPastItsAgeIsClosedInsteadOfUsed() throws Exception {
        try (ScriptedRedis server = new ScriptedRedis("*3\r\n:1\r\n:4\r\n:0\r\n");
             RespConnections calls = new RespConnections(settings(server.port(), Duration.ofSeconds(5)), timers, 0)) {
            calls.run(SCRIPT, SHA, new String[] {"k"}, new String[0]);
            calls.run(SCRIPT, SHA, new String[] {"k"}, new String[0]);
            assertEquals(2, server.accepted.get(), "with a maximum idle time of 0 no connection is reused");
            Await.until(() -> server.closed.get() >= 1, "the aged one is closed");
        }
    }

    @Test
    void aTlsTrustThatCannotBeBuiltMeansNoConnectionAtAllNeverOneWithoutTls() throws Exception {
        // The CA file was valid when the configuration was checked and has gone since (a replaced Secret).
        java.nio.file.Path gone = java.nio.file.Files.createTempFile("redis-ca", ".pem");
        java.nio.file.Files.delete(gone);
        try (ScriptedRedis server = new ScriptedRedis("+PONG\r\n");
             RespConnections calls = new RespConnections(new RedisSettings(List.of("rediss://127.0.0.1:" + server.port()), false,
                                                                           Duration.ofSeconds(5), Optional.of(gone)), timers)) {
            calls.start();
            ScriptCalls.CallFailed failed = assertThrows(ScriptCalls.CallFailed.class, () -> calls.run(SCRIPT, SHA, new String[] {"k"}, new String[0]));
            assertTrue(failed.getMessage().contains("TLS trust"), failed.getMessage());
            assertEquals(0, server.accepted.get(), "nothing was sent in the clear");
        }
    }

    private static RedisSettings settings(int port, Duration timeout) {
        return new RedisSettings(List.of("redis://127.0.0.1:" + port), false, timeout, Optional.empty());
    }

    private static java.util.logging.Handler capture(List<String> lines) {
        java.util.logging.Handler handler = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord record) {
                lines.add(record.getLoggerName() + ": " + record.getMessage()
                                  + (record.getThrown() == null ? "" : " " + record.getThrown()));
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        java.util.logging.Logger.getLogger("").addHandler(handler);
        return handler;
    }

    /**
     * A socket server that answers each command it reads with the next scripted reply (the last one repeats), or
     * never when there is none.
     */
    private static final class ScriptedRedis implements AutoCloseable {
        private final ServerSocket server = new ServerSocket(0);
        final AtomicInteger accepted = new AtomicInteger();
        final AtomicInteger closed = new AtomicInteger();
        final ConcurrentLinkedQueue<String> commands = new ConcurrentLinkedQueue<>();
        private final List<String> replies;
        volatile String reply;
        private int next;

        ScriptedRedis(String... replies) throws IOException {
            this.replies = replies == null ? null : List.of(replies);
            this.reply = replies == null ? null : replies[0];
            Thread.ofVirtual().start(this::accept);
        }

        int port() {
            return server.getLocalPort();
        }

        private void accept() {
            try {
                while (true) {
                    Socket socket = server.accept();
                    accepted.incrementAndGet();
                    Thread.ofVirtual().start(() -> serve(socket));
                }
            } catch (IOException e) {
                // closed
            }
        }

        private synchronized String nextReply() {
            if (replies == null || reply == null) {
                return null;
            }
            if (next < replies.size() && replies.get(next).equals(reply)) {
                String r = replies.get(next);
                next = Math.min(next + 1, replies.size() - 1);
                reply = replies.get(next);
                return r;
            }
            return reply;
        }

        private void serve(Socket socket) {
            try (socket; InputStream in = socket.getInputStream()) {
                byte[] buffer = new byte[8192];
                int n;
                while ((n = in.read(buffer)) > 0) {
                    commands.add(new String(buffer, 0, n, StandardCharsets.UTF_8));
                    String r = nextReply();
                    if (r != null) {
                        socket.getOutputStream().write(r.getBytes(StandardCharsets.ISO_8859_1));
                        socket.getOutputStream().flush();
                    }
                }
            } catch (IOException e) {
                // the client went away
            } finally {
                closed.incrementAndGet();
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
