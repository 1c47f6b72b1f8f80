package dev.sidegate.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An upstream that records the exact bytes of each request head and answers with a scripted raw response,
 * then closes the connection. For what a well-behaved HTTP server would hide or never send.
 */
public final class RawUpstream implements AutoCloseable {
    private final ServerSocket server;
    private final List<String> heads = new CopyOnWriteArrayList<>();
    private volatile String response;
    private final Thread acceptor;

    public RawUpstream(String response) throws IOException {
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.response = response;
        this.acceptor = Thread.ofVirtual().start(this::acceptLoop);
    }

    public int port() {
        return server.getLocalPort();
    }

    public String url() {
        return "http://127.0.0.1:" + port();
    }

    public void respond(String rawResponse) {
        this.response = rawResponse;
    }

    /** Request heads received, each from the request line to the last header line, CRLF-separated. */
    public List<String> heads() {
        return List.copyOf(heads);
    }

    public String lastHead() {
        if (heads.isEmpty()) {
            throw new AssertionError("the raw upstream received no request");
        }
        return heads.get(heads.size() - 1);
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                Thread.ofVirtual().start(() -> serve(socket));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            socket.setSoTimeout(20_000);
            InputStream in = socket.getInputStream();
            String head = RawHttp.readHead(in);
            heads.add(head);
            long length = contentLength(head);
            if (length > 0) {
                in.readNBytes((int) length);
            }
            OutputStream out = socket.getOutputStream();
            out.write(response.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        } catch (IOException e) {
            // the test decides what a failed exchange means
        }
    }

    private static long contentLength(String head) {
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) {
                return Long.parseLong(line.substring(15).trim());
            }
        }
        return 0;
    }

    @Override
    public void close() throws IOException {
        server.close();
        acceptor.interrupt();
    }
}
