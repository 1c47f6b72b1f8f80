import java.io.InputStream;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.sidegate.proxy.Headers;
import dev.sidegate.proxy.RequestBody;
import dev.sidegate.upstream.ConnectionSettings;
import dev.sidegate.upstream.Http1Upstream;
import dev.sidegate.upstream.UpstreamRequest;
import dev.sidegate.upstream.UpstreamResponse;
import io.helidon.common.socket.SocketOptions;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;

/**
 * A by-hand bisection of Sidegate's CPU per request (loadtest/ANALYSIS.md): Helidon's WebServer and Sidegate's own
 * upstream layer (dev.sidegate.upstream: pool, strict parser, request writer), with none of Sidegate's pipeline,
 * handler or telemetry. Between SocketProxy (raw sockets) and Sidegate plain, it says which half the cost is in.
 * Build and run from the repository root after `mvn -q package -DskipTests` (JDK 21+):
 *   javac -d /tmp/ulp -cp "target/classes:target/libs/*" loadtest/minimal/by-hand/UpstreamLayerProxy.java
 *   java <Sidegate's JVM flags> -cp "/tmp/ulp:target/classes:target/libs/*" UpstreamLayerProxy <port> <upstream port>
 */
public final class UpstreamLayerProxy {
    public static void main(String[] args) {
        URI upstreamUrl = URI.create("http://127.0.0.1:" + args[1]);
        Http1Upstream upstream = new dev.sidegate.upstream.Upstreams(Executors.newSingleThreadScheduledExecutor())
                .http1(upstreamUrl, ConnectionSettings.DEFAULT);
        String host = "127.0.0.1:" + args[1];
        WebServer.builder()
                .host("127.0.0.1")
                .port(Integer.parseInt(args[0]))
                .connectionOptions(SocketOptions.builder().tcpNoDelay(true).build())
                .routing(r -> r.any((req, res) -> {
                    UpstreamResponse up = upstream.send(new UpstreamRequest(req.prologue().method().text(),
                                                                            req.prologue().uriPath().rawPath(), host,
                                                                            Headers.empty(), RequestBody.none()),
                                                        Duration.ofSeconds(5), Duration.ofSeconds(30), new AtomicBoolean());
                    byte[] body;
                    try (InputStream in = up.body().stream()) {
                        body = in.readAllBytes();
                    }
                    up.body().close();
                    up.headers().forEach((name, value) -> {
                        if (!name.equalsIgnoreCase("connection") && !name.equalsIgnoreCase("content-length")) {
                            res.header(HeaderNames.create(name), value);
                        }
                    });
                    res.status(Status.create(up.status()));
                    res.send(body);
                }))
                .build()
                .start();
    }
}
