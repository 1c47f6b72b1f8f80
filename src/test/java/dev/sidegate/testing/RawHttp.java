package dev.sidegate.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.ArrayList;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A client that writes exactly the bytes a test gives it, for what well-behaved clients never send
 * (hop-by-hop headers, smuggling attempts, malformed paths), and parses one response.
 */
public final class RawHttp implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    public RawHttp(int port) throws IOException {
        this.socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(20_000);
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** A parsed response. */
    public record Response(String statusLine, int status, List<Map.Entry<String, String>> headers, byte[] body) {
        public Optional<String> header(String name) {
            return headers.stream().filter(e -> e.getKey().equalsIgnoreCase(name)).map(Map.Entry::getValue).findFirst();
        }

        public List<String> headers(String name) {
            return headers.stream().filter(e -> e.getKey().equalsIgnoreCase(name)).map(Map.Entry::getValue).toList();
        }

        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    public static Response exchange(int port, String request) throws IOException {
        try (RawHttp http = new RawHttp(port)) {
            http.send(request);
            return http.read(!request.startsWith("HEAD "));
        }
    }

    public void send(String text) throws IOException {
        send(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    public void send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** Reads one response: head, then a Content-Length, chunked or until-close body. */
    public Response read(boolean expectBody) throws IOException {
        String head = readHead();
        String[] lines = head.split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        List<Map.Entry<String, String>> headers = new ArrayList<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            headers.add(Map.entry(lines[i].substring(0, colon).trim(), lines[i].substring(colon + 1).trim()));
        }
        Response partial = new Response(lines[0], status, headers, new byte[0]);
        if (!expectBody || status == 204 || status == 304) {
            return partial;
        }
        Optional<String> length = partial.header("Content-Length");
        byte[] body;
        if (length.isPresent()) {
            body = in.readNBytes(Integer.parseInt(length.get()));
        } else if (partial.header("Transfer-Encoding").map(v -> v.toLowerCase(Locale.ROOT).contains("chunked")).orElse(false)) {
            body = readChunked();
        } else {
            body = in.readAllBytes();
        }
        return new Response(lines[0], status, headers, body);
    }

    /** True when the server closes the connection (EOF or reset) before the socket timeout. */
    public boolean closedByServer() throws IOException {
        try {
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset by peer
        }
    }

    public void soTimeout(int millis) throws IOException {
        socket.setSoTimeout(millis);
    }

    private String readHead() throws IOException {
        return readHead(in);
    }

    /** Reads a message head up to and without the blank line that ends it. */
    static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        byte[] last = new byte[4];
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed before the response head ended: " + head);
            }
            head.write(b);
            System.arraycopy(last, 1, last, 0, 3);
            last[3] = (byte) b;
            if (last[0] == '\r' && last[1] == '\n' && last[2] == '\r' && last[3] == '\n') {
                String text = head.toString(StandardCharsets.ISO_8859_1);
                return text.substring(0, text.length() - 4);
            }
        }
    }

    private byte[] readChunked() throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String sizeLine = readLine();
            int size = Integer.parseInt(sizeLine.split(";")[0].trim(), 16);
            if (size == 0) {
                while (!readLine().isEmpty()) {
                    // trailers
                }
                return body.toByteArray();
            }
            body.write(in.readNBytes(size));
            readLine();
        }
    }

    private String readLine() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int prev = -1;
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed inside a chunked body");
            }
            if (prev == '\r' && b == '\n') {
                byte[] bytes = line.toByteArray();
                return new String(bytes, 0, bytes.length - 1, StandardCharsets.ISO_8859_1);
            }
            line.write(b);
            prev = b;
        }
    }

    public static Map<String, String> lower(List<Map.Entry<String, String>> headers) {
        Map<String, String> m = new LinkedHashMap<>();
        headers.forEach(e -> m.put(e.getKey().toLowerCase(Locale.ROOT), e.getValue()));
        return m;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
