package dev.sidegate.loadtest.minimal;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentLinkedDeque;

import io.helidon.common.socket.SocketOptions;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;

/**
 * The footprint issue's prototype, rebuilt to measure beside Sidegate: Helidon's WebServer and about a hundred lines of
 * pooled blocking sockets to the upstream, no pipeline, no checks beyond what a GET with a Content-Length answer
 * needs. Not a proxy anyone should run: it is the floor of "Helidon WebServer + own upstream sockets".
 * Usage: java -cp ... dev.sidegate.loadtest.minimal.SocketProxy <port> <upstream port>
 */
public final class SocketProxy {
    private static final class Conn {
        final Socket socket;
        final InputStream in;
        final OutputStream out;

        Conn(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
            this.out = socket.getOutputStream();
        }
    }

    public static void main(String[] args) {
        int upstreamPort = Integer.parseInt(args[1]);
        ConcurrentLinkedDeque<Conn> pool = new ConcurrentLinkedDeque<>();
        byte[] hostLine = ("Host: 127.0.0.1:" + upstreamPort + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        WebServer.builder()
                .host("127.0.0.1")
                .port(Integer.parseInt(args[0]))
                .connectionOptions(SocketOptions.builder().tcpNoDelay(true).build())
                .routing(r -> r.any((req, res) -> {
                    Conn c = pool.pollFirst();
                    if (c == null) {
                        Socket s = new Socket();
                        s.setTcpNoDelay(true);
                        s.connect(new InetSocketAddress("127.0.0.1", upstreamPort));
                        c = new Conn(s);
                    }
                    byte[] line = (req.prologue().method().text() + " " + req.prologue().uriPath().rawPath() + " HTTP/1.1\r\n")
                            .getBytes(StandardCharsets.US_ASCII);
                    byte[] head = new byte[line.length + hostLine.length];
                    System.arraycopy(line, 0, head, 0, line.length);
                    System.arraycopy(hostLine, 0, head, line.length, hostLine.length);
                    c.out.write(head);
                    String status = readLine(c.in);
                    int code = Integer.parseInt(status.substring(9, 12));
                    int length = 0;
                    String h;
                    while (!(h = readLine(c.in)).isEmpty()) {
                        int colon = h.indexOf(':');
                        String name = h.substring(0, colon);
                        String value = h.substring(colon + 1).trim();
                        if (name.equalsIgnoreCase("content-length")) {
                            length = Integer.parseInt(value);
                        } else if (!name.equalsIgnoreCase("connection")) {
                            res.header(HeaderNames.create(name), value);
                        }
                    }
                    byte[] body = c.in.readNBytes(length);
                    pool.offerFirst(c); // read to its end: back to the pool before the client is answered
                    res.status(Status.create(code));
                    res.send(body);
                }))
                .build()
                .start();
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder(64);
        int ch;
        while ((ch = in.read()) != '\r') {
            if (ch < 0) {
                throw new IOException("upstream closed");
            }
            b.append((char) ch);
        }
        in.read(); // LF
        return b.toString();
    }
}
