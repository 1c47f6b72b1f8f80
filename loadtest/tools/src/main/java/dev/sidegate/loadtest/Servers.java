package dev.sidegate.loadtest;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

import com.sun.net.httpserver.HttpServer;

/**
 * Small servers the load test needs besides nginx.
 *
 * <ul>
 *   <li>{@code Servers otlp <port>}: an OTLP/HTTP sink that accepts every export with 200, so traced runs pay
 *       for exporting without a collector.</li>
 *   <li>{@code Servers dying <port> <seconds>}: an upstream that answers 200 "ok" until that many seconds after
 *       {@code GET /arm}, then accepts requests and never answers them (a hung upstream, the worst case for a
 *       proxy's callers).</li>
 * </ul>
 */
public final class Servers {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[1]);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 1024);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        java.util.concurrent.atomic.AtomicLong dieAt = new java.util.concurrent.atomic.AtomicLong(Long.MAX_VALUE);
        long dieAfterNanos = args[0].equals("dying") ? (long) (Double.parseDouble(args[2]) * 1e9) : Long.MAX_VALUE;
        server.createContext("/", exchange -> {
            try (InputStream in = exchange.getRequestBody()) {
                in.readAllBytes();
            }
            if (exchange.getRequestURI().getPath().equals("/arm") && dieAfterNanos != Long.MAX_VALUE) {
                dieAt.set(System.nanoTime() + dieAfterNanos);
            } else if (System.nanoTime() >= dieAt.get()) {
                try {
                    Thread.sleep(Long.MAX_VALUE); // hung: the connection stays open, no answer ever comes
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return;
            }
            byte[] body = "ok".getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "text/plain");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        System.out.println(args[0] + " server on " + port);
    }
}
