package dev.sidegate.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A keep-alive upstream on raw sockets that answers each request with whatever bytes the test scripts, on the same
 * connection, for as long as the peer keeps it open. For what a well-behaved server never sends (ambiguous
 * framing, interim responses, bytes after a response) and for watching connections: which request came on which
 * connection, and when the proxy closed one.
 */
public final class ScriptedUpstream implements AutoCloseable {
    private final ServerSocket server;
    private final Responder responder;
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger accepted = new AtomicInteger();
    private final Set<Integer> closedByPeer = ConcurrentHashMap.newKeySet();
    private final Set<Socket> idle = ConcurrentHashMap.newKeySet();
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();

    /** One request as received; {@code connection} numbers connections from 1 in accept order. */
    public record Request(int connection, int indexOnConnection, String head, byte[] body) {
        public String requestLine() {
            return head.split("\r\n", 2)[0];
        }

        public String method() {
            return requestLine().split(" ")[0];
        }

        public String target() {
            return requestLine().split(" ")[1];
        }

        public Optional<String> header(String name) {
            for (String line : head.split("\r\n")) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).equalsIgnoreCase(name)) {
                    return Optional.of(line.substring(colon + 1).trim());
                }
            }
            return Optional.empty();
        }

        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /** What to do with one request. */
    public interface Responder {
        Reply respond(Request request) throws Exception;
    }

    /**
     * @param parts   raw bytes to write, each part flushed, with {@code pauseMillis} between parts (a slow upstream)
     * @param close   close the connection after writing
     */
    public record Reply(List<byte[]> parts, long pauseMillis, boolean close) {
        public static Reply of(String raw) {
            return new Reply(List.of(raw.getBytes(StandardCharsets.ISO_8859_1)), 0, false);
        }

        public static Reply andClose(String raw) {
            return new Reply(List.of(raw.getBytes(StandardCharsets.ISO_8859_1)), 0, true);
        }

        /** Closes the connection without writing anything (an upstream that died, or its idle-close race). */
        public static Reply closeSilently() {
            return new Reply(List.of(), 0, true);
        }

        public static Reply inParts(long pauseMillis, String... parts) {
            return new Reply(java.util.Arrays.stream(parts).map(p -> p.getBytes(StandardCharsets.ISO_8859_1)).toList(),
                             pauseMillis, false);
        }
    }

    public ScriptedUpstream(Responder responder) throws IOException {
        this.server = new ServerSocket(0, 100, InetAddress.getLoopbackAddress());
        this.responder = responder;
        Thread.ofVirtual().name("scripted-upstream-accept").start(this::acceptLoop);
    }

    /** An upstream that answers every request {@code 200} with the given body and keeps the connection. */
    public static ScriptedUpstream ok(String body) throws IOException {
        return new ScriptedUpstream(r -> Reply.of("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body));
    }

    public int port() {
        return server.getLocalPort();
    }

    public String url() {
        return "http://127.0.0.1:" + port();
    }

    public List<Request> requests() {
        return List.copyOf(requests);
    }

    public Request last() {
        if (requests.isEmpty()) {
            throw new AssertionError("the scripted upstream received no request");
        }
        return requests.get(requests.size() - 1);
    }

    /** Connections accepted so far. */
    public int connections() {
        return accepted.get();
    }

    /** Connections (by number) that the proxy closed: the upstream read EOF or a reset. */
    public Set<Integer> closedByPeer() {
        return Set.copyOf(closedByPeer);
    }

    /** Connections currently open. */
    public int openConnections() {
        return open.size();
    }

    /** Closes every connection that is waiting for its next request, as an upstream's keep-alive timeout does. */
    public int closeIdleConnections() throws IOException {
        int n = 0;
        for (Socket s : List.copyOf(idle)) {
            if (idle.remove(s)) {
                s.close();
                n++;
            }
        }
        return n;
    }

    /** Connections waiting for their next request. */
    public int idleConnections() {
        return idle.size();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                int number = accepted.incrementAndGet();
                open.add(socket);
                Thread.ofVirtual().name("scripted-upstream-" + number).start(() -> serve(socket, number));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket socket, int number) {
        try (socket) {
            socket.setSoTimeout(30_000);
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            for (int index = 1; ; index++) {
                idle.add(socket);
                String head;
                try {
                    head = readHead(in);
                } catch (SocketTimeoutException e) {
                    return;
                }
                if (!idle.remove(socket)) {
                    return; // closed by the test while idle
                }
                if (head == null) {
                    closedByPeer.add(number);
                    return;
                }
                Request request = new Request(number, index, head, readBody(in, head));
                requests.add(request);
                Reply reply = responder.respond(request);
                for (int i = 0; i < reply.parts().size(); i++) {
                    if (i > 0 && reply.pauseMillis() > 0) {
                        Thread.sleep(reply.pauseMillis()); // the stub plays a slow upstream
                    }
                    out.write(reply.parts().get(i));
                    out.flush();
                }
                if (reply.close()) {
                    return;
                }
            }
        } catch (IOException e) {
            if (!socket.isClosed()) {
                closedByPeer.add(number); // a reset from the proxy; a socket the test closed does not count
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            idle.remove(socket);
            open.remove(socket);
        }
    }

    /** The head up to (without) its blank line; null at a clean end of stream before the first byte. */
    static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (true) {
            int b = in.read();
            if (b < 0) {
                if (head.size() == 0) {
                    return null;
                }
                throw new IOException("closed inside a request head");
            }
            head.write(b);
            matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
            if (matched == 4) {
                String text = head.toString(StandardCharsets.ISO_8859_1);
                return text.substring(0, text.length() - 4);
            }
        }
    }

    private static byte[] readBody(InputStream in, String head) throws IOException {
        Request probe = new Request(0, 0, head, new byte[0]);
        Optional<String> length = probe.header("Content-Length");
        if (length.isPresent()) {
            return in.readNBytes(Integer.parseInt(length.get()));
        }
        if (probe.header("Transfer-Encoding").map(v -> v.toLowerCase(Locale.ROOT).contains("chunked")).orElse(false)) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            while (true) {
                int size = Integer.parseInt(line(in).split(";")[0].trim(), 16);
                if (size == 0) {
                    while (!line(in).isEmpty()) {
                        // trailers
                    }
                    return body.toByteArray();
                }
                body.write(in.readNBytes(size));
                line(in);
            }
        }
        return new byte[0];
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int prev = -1;
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed inside a chunked body");
            }
            if (prev == '\r' && b == '\n') {
                byte[] bytes = line.toByteArray();
                return new String(bytes, 0, bytes.length - 1, StandardCharsets.ISO_8859_1);
            }
            line.write(b);
            prev = b;
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : List.copyOf(open)) {
            s.close();
        }
    }
}
