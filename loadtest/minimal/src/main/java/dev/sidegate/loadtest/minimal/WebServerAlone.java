package dev.sidegate.loadtest.minimal;

import io.helidon.common.socket.SocketOptions;
import io.helidon.webserver.WebServer;

/**
 * The ceiling of any proxy on Helidon's WebServer: the server alone, answering a fixed 1 KiB body itself (what the
 * upstream nginx answers), with Sidegate's TCP_NODELAY setting and JVM flags. Not a proxy: it calls nothing.
 * Usage: java -cp loadtest/minimal/target/minimal.jar:loadtest/minimal/target/libs/* dev.sidegate.loadtest.minimal.WebServerAlone <port>
 */
public final class WebServerAlone {
    public static void main(String[] args) {
        byte[] body = "x".repeat(1024).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        SocketOptions noDelay = SocketOptions.builder().tcpNoDelay(true).build();
        WebServer.builder()
                .host("127.0.0.1")
                .port(Integer.parseInt(args[0]))
                .connectionOptions(noDelay)
                .routing(r -> r.any((req, res) -> res.send(body)))
                .build()
                .start();
    }
}
