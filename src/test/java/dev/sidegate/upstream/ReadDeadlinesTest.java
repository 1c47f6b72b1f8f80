package dev.sidegate.upstream;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.sidegate.proxy.Headers;
import dev.sidegate.proxy.RequestBody;
import dev.sidegate.testing.Await;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Response timeouts are swept only while a read waits: an idle Sidegate schedules nothing for them. */
class ReadDeadlinesTest {

    @Test
    void aSilentUpstreamTimesOutAndTheSweepsStopOnceNothingWaits() throws Exception {
        ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
        CountDownLatch release = new CountDownLatch(1);
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             Upstreams upstreams = new Upstreams(timers)) {
            Thread.ofVirtual().start(() -> answer(server, release));
            URI url = URI.create("http://127.0.0.1:" + server.getLocalPort());
            Http1Upstream upstream = upstreams.http1(url, ConnectionSettings.DEFAULT);
            assertFalse(upstreams.sweepingReadDeadlines(), "nothing read yet");

            // the first request gets no answer: the sweep closes its connection after the 200 ms timeout
            UpstreamException timeout = assertThrows(UpstreamException.class, () -> send(upstream, url, "/silent"));
            assertEquals(UpstreamException.Kind.RESPONSE_TIMEOUT, timeout.kind());
            Await.until(() -> !upstreams.sweepingReadDeadlines(), "the sweeps stop when no read waits");

            // the next one is answered: timeouts still work after the sweeps stopped and start again
            release.countDown();
            UpstreamResponse response = send(upstream, url, "/answered");
            try {
                assertEquals(200, response.status());
                assertEquals("ok", new String(response.body().stream().readAllBytes(), StandardCharsets.US_ASCII));
            } finally {
                response.body().close();
            }
            Await.until(() -> !upstreams.sweepingReadDeadlines(), "and stop again");
        } finally {
            timers.shutdownNow();
        }
    }

    private static UpstreamResponse send(Http1Upstream upstream, URI url, String path) throws UpstreamException {
        return upstream.send(new UpstreamRequest("GET", path, url.getAuthority(), Headers.empty(), RequestBody.none()),
                             Duration.ofSeconds(5), Duration.ofMillis(200), new AtomicBoolean());
    }

    /** Never answers the first connection; answers every request of later ones once released. */
    private static void answer(ServerSocket server, CountDownLatch release) {
        try {
            Socket silent = server.accept(); // kept open and silent until the client gives up
            while (true) {
                Socket s = server.accept();
                release.await(10, TimeUnit.SECONDS);
                Thread.ofVirtual().start(() -> {
                    try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                        byte[] buffer = new byte[4096];
                        while (in.read(buffer) > 0) {
                            out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
                            out.flush();
                        }
                    } catch (Exception e) {
                        // the test is over
                    }
                });
                if (silent.isClosed()) {
                    break;
                }
            }
        } catch (Exception e) {
            // the server socket closed: the test is over
        }
    }
}
