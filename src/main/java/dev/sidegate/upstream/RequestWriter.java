package dev.sidegate.upstream;

import java.io.IOException;
import java.io.InputStream;

import dev.sidegate.proxy.Headers;
import dev.sidegate.proxy.RequestBody;

/**
 * Writes one request: the request line exactly as given, {@code Host}, the end-to-end headers, and the framing
 * Sidegate chose for the body ({@code Content-Length} when its length is known, chunked otherwise). Header names and
 * values are checked before anything is written: a CR, LF or NUL put in by a stage or plugin must never split the
 * request in two.
 */
final class RequestWriter {
    private static final int BODY_BUFFER = 16 * 1024;
    private static final byte[] LAST_CHUNK = "0\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private RequestWriter() {
    }

    /** Checks what will be written; throws {@link UpstreamException.Kind#BAD_REQUEST} naming the offending part. */
    static void validate(String method, String target, String host, Headers headers) throws UpstreamException {
        for (int i = 0; i < method.length(); i++) {
            if (!ResponseParser.tchar(method.charAt(i))) {
                throw new UpstreamException(UpstreamException.Kind.BAD_REQUEST, "the method is not a token");
            }
        }
        for (int i = 0; i < target.length(); i++) {
            char c = target.charAt(i);
            if (c <= 0x20 || c >= 0x7F) {
                throw new UpstreamException(UpstreamException.Kind.BAD_REQUEST,
                                            "the request target contains a space, control or non-ASCII character");
            }
        }
        checkValue("Host", host);
        for (int i = 0; i < headers.size(); i++) {
            String name = headers.name(i);
            if (name.isEmpty()) {
                throw new UpstreamException(UpstreamException.Kind.BAD_REQUEST, "a header without a name");
            }
            for (int j = 0; j < name.length(); j++) {
                if (!ResponseParser.tchar(name.charAt(j))) {
                    throw new UpstreamException(UpstreamException.Kind.BAD_REQUEST, "the header name '"
                            + ResponseParser.shorten(name.replaceAll("[^\\x21-\\x7e]", "?")) + "' is not a token");
                }
            }
            checkValue(name, headers.value(i));
        }
    }

    private static void checkValue(String name, String value) throws UpstreamException {
        for (int j = 0; j < value.length(); j++) {
            char c = value.charAt(j);
            if ((c < 0x20 && c != '\t') || c == 0x7F || c > 0xFF) {
                throw new UpstreamException(UpstreamException.Kind.BAD_REQUEST, "the value of header " + name
                        + " contains a control character or a character outside ISO-8859-1");
            }
        }
    }

    /** Writes the head and flushes it when there is no body. */
    static void writeHead(Http1Connection conn, String method, String target, String host, Headers headers,
                          RequestBody body, boolean expectsBody) throws IOException {
        conn.writeAscii(method);
        conn.writeAscii(" ");
        conn.writeAscii(target);
        conn.writeAscii(" HTTP/1.1\r\nHost: ");
        conn.writeAscii(host);
        conn.writeCrlf();
        for (int i = 0; i < headers.size(); i++) {
            String name = headers.name(i);
            if (name.equalsIgnoreCase("Content-Length") || name.equalsIgnoreCase("Transfer-Encoding")
                    || name.equalsIgnoreCase("Host")) {
                continue; // framing is Sidegate's to decide, from the body it sends
            }
            conn.writeAscii(name);
            conn.writeAscii(": ");
            conn.writeAscii(headers.value(i));
            conn.writeCrlf();
        }
        if (body.length() > 0) {
            conn.writeAscii("Content-Length: ");
            conn.writeAscii(Long.toString(body.length()));
            conn.writeCrlf();
        } else if (body.length() < 0) {
            conn.writeAscii("Transfer-Encoding: chunked\r\n");
        } else if (expectsBody) {
            conn.writeAscii("Content-Length: 0\r\n");
        }
        conn.writeCrlf();
        if (body.length() == 0) {
            conn.flush();
        }
    }

    /**
     * Streams the body, flushing whenever the client pauses so that an upload reaches the upstream while it is still
     * being sent.
     *
     * @param started set to true once the first body byte has been read from the client
     */
    static void writeBody(Http1Connection conn, RequestBody body, Runnable started) throws IOException {
        InputStream in = body.stream();
        byte[] buffer = new byte[BODY_BUFFER];
        boolean chunked = body.length() < 0;
        long remaining = body.length();
        boolean first = true;
        while (chunked || remaining > 0) {
            int n;
            try {
                n = in.read(buffer, 0, chunked ? buffer.length : (int) Math.min(buffer.length, remaining));
            } catch (IOException | RuntimeException e) {
                throw new UpstreamException(UpstreamException.Kind.CLIENT_BODY, "reading the request body from the client failed", e);
            }
            if (n < 0) {
                if (!chunked) {
                    throw new UpstreamException(UpstreamException.Kind.CLIENT_BODY, "the client's body ended "
                            + remaining + " bytes early");
                }
                break;
            }
            if (first) {
                started.run();
                first = false;
            }
            if (chunked) {
                if (n == 0) {
                    continue;
                }
                conn.writeAscii(Integer.toHexString(n));
                conn.writeCrlf();
                conn.write(buffer, 0, n);
                conn.writeCrlf();
            } else {
                conn.write(buffer, 0, n);
                remaining -= n;
            }
            if (available(in) <= 0) {
                conn.flush(); // the client paused: pass on what arrived instead of waiting for a full buffer
            }
        }
        if (chunked) {
            conn.write(LAST_CHUNK, 0, LAST_CHUNK.length);
        } else {
            endOfSizedBody(in);
        }
        conn.flush();
    }

    /** Reads the end of a body of known length, so the client's connection knows it was read to the end. */
    private static void endOfSizedBody(InputStream in) throws UpstreamException {
        int next;
        try {
            next = in.read();
        } catch (IOException | RuntimeException e) {
            throw new UpstreamException(UpstreamException.Kind.CLIENT_BODY, "reading the request body from the client failed", e);
        }
        if (next >= 0) {
            throw new UpstreamException(UpstreamException.Kind.CLIENT_BODY, "the client's body is longer than its length");
        }
    }

    private static int available(InputStream in) {
        try {
            return in.available();
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
