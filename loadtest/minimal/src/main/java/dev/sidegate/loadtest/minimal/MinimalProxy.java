package dev.sidegate.loadtest.minimal;

import io.helidon.common.socket.SocketOptions;
import io.helidon.http.HeaderNames;
import io.helidon.webclient.api.HttpClientResponse;
import io.helidon.webclient.api.WebClient;
import io.helidon.webserver.WebServer;

import java.io.InputStream;
import java.io.OutputStream;

/**
 * The floor under Sidegate's plain path: the smallest Helidon SE 4 WebServer + WebClient proxy (no header hygiene,
 * no telemetry, no resilience), with the same TCP_NODELAY settings Sidegate uses. The load test runs it with
 * Sidegate's JVM flags so the difference between the two is what Sidegate's pipeline costs.
 * Usage: java -cp loadtest/minimal/target/minimal.jar:loadtest/minimal/target/libs/* dev.sidegate.loadtest.minimal.MinimalProxy <port> <upstream port>
 */
public final class MinimalProxy {
    public static void main(String[] args) {
        SocketOptions noDelay = SocketOptions.builder().tcpNoDelay(true).build();
        WebClient client = WebClient.builder().socketOptions(noDelay).baseUri("http://127.0.0.1:" + args[1]).build();
        WebServer.builder()
                .host("127.0.0.1")
                .port(Integer.parseInt(args[0]))
                .connectionOptions(noDelay)
                .routing(r -> r.any((req, res) -> {
                    try (HttpClientResponse up = client.method(req.prologue().method()).path(req.prologue().uriPath().rawPath()).request()) {
                        res.status(up.status());
                        up.headers().forEach(h -> {
                            if (!h.name().equalsIgnoreCase("connection") && !h.name().equalsIgnoreCase("content-length")) {
                                res.header(h);
                            }
                        });
                        up.headers().contentLength().ifPresent(l -> res.header(HeaderNames.CONTENT_LENGTH, String.valueOf(l)));
                        try (InputStream in = up.inputStream(); OutputStream out = res.outputStream()) {
                            in.transferTo(out);
                        }
                    }
                }))
                .build()
                .start();
    }
}
