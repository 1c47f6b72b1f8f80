package dev.sidegate.upstream;

import java.io.IOException;
import java.util.Locale;

import dev.sidegate.proxy.Headers;

/**
 * Strict HTTP/1.1 response parsing (RFC 9112), in the manner of Envoy's codec: one framing per response, bounded
 * heads, and a {@link UpstreamException.Kind#BAD_RESPONSE} for anything a different parser could read differently:
 * Content-Length with Transfer-Encoding, repeated or malformed Content-Length, a transfer coding other than
 * chunked, obsolete line folding, bare CR or LF, NUL and other control characters, invalid field names.
 */
final class ResponseParser {
    static final int MAX_STATUS_LINE = 8 * 1024;
    static final int MAX_HEADER_SECTION = 64 * 1024;
    static final int MAX_FIELDS = 256;
    /** Interim (1xx) responses skipped before the final one; more is a bad response. */
    static final int MAX_INTERIM = 16;

    private ResponseParser() {
    }

    /**
     * Reads the final response head, skipping interim 1xx responses.
     *
     * @param head whether the request was HEAD (then the response has no body whatever its fields say)
     * @return the head; null when the connection was closed before the first byte of a response
     */
    static ResponseHead read(Http1Connection conn, boolean head) throws IOException {
        return read(conn, head, false);
    }

    /**
     * The same, for a request that asked to switch protocols: a 101 is then its final response (with no body; what
     * follows it is the new protocol's).
     */
    static ResponseHead read(Http1Connection conn, boolean head, boolean upgradeRequested) throws IOException {
        for (int interim = 0; interim <= MAX_INTERIM; interim++) {
            String statusLine = conn.readLine(MAX_STATUS_LINE, "status line");
            if (statusLine == null) {
                if (interim == 0) {
                    return null;
                }
                throw new UpstreamException(UpstreamException.Kind.CLOSED, "the upstream closed the connection after an interim response");
            }
            boolean http11 = statusLine.startsWith("HTTP/1.1 ");
            if (!http11 && !statusLine.startsWith("HTTP/1.0 ")) {
                throw UpstreamException.bad("the status line does not start with HTTP/1.1 or HTTP/1.0");
            }
            int status = status(statusLine);
            Headers headers = fields(conn, "header section");
            if (status == 101) {
                if (!upgradeRequested) {
                    throw UpstreamException.bad("the upstream switched protocols (101) without being asked to");
                }
                return new ResponseHead(http11, 101, headers, new ResponseHead.NoBody(), false);
            }
            if (status < 200) {
                continue; // 100 Continue and 103 Early Hints are interim: the final response follows
            }
            return new ResponseHead(http11, status, headers, framing(http11, status, headers, head),
                                    !http11 || connectionClose(headers));
        }
        throw UpstreamException.bad("more than " + MAX_INTERIM + " interim responses");
    }

    private static int status(String line) throws UpstreamException {
        // HTTP-version SP 3DIGIT SP reason-phrase; a missing reason phrase (and its space) is tolerated.
        if (line.length() < 12 || !digit(line.charAt(9)) || !digit(line.charAt(10)) || !digit(line.charAt(11))
                || (line.length() > 12 && line.charAt(12) != ' ')) {
            throw UpstreamException.bad("malformed status line");
        }
        for (int i = 13; i < line.length(); i++) {
            char c = line.charAt(i);
            if ((c < 0x20 && c != '\t') || c == 0x7F) {
                throw UpstreamException.bad("a control character in the reason phrase");
            }
        }
        int status = (line.charAt(9) - '0') * 100 + (line.charAt(10) - '0') * 10 + (line.charAt(11) - '0');
        if (status < 100 || status > 599) {
            throw UpstreamException.bad("status " + status + " is out of range");
        }
        return status;
    }

    /** A field section: the header section of a head, or the trailer section of a chunked body. */
    static Headers fields(Http1Connection conn, String what) throws IOException {
        Headers.Builder headers = Headers.builder();
        int total = 0;
        int count = 0;
        while (true) {
            String line = conn.readLine(MAX_HEADER_SECTION - total, what);
            if (line == null) {
                throw new UpstreamException(UpstreamException.Kind.CLOSED, "the upstream closed the connection inside the " + what);
            }
            total += line.length() + 2;
            if (line.isEmpty()) {
                return headers.build();
            }
            if (++count > MAX_FIELDS) {
                throw UpstreamException.bad("more than " + MAX_FIELDS + " fields in the " + what);
            }
            char first = line.charAt(0);
            if (first == ' ' || first == '\t') {
                throw UpstreamException.bad("obsolete line folding in the " + what);
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw UpstreamException.bad("a field line without a name in the " + what);
            }
            for (int i = 0; i < colon; i++) {
                if (!tchar(line.charAt(i))) {
                    throw UpstreamException.bad("an invalid character in a field name in the " + what);
                }
            }
            int start = colon + 1;
            int end = line.length();
            while (start < end && ows(line.charAt(start))) {
                start++;
            }
            while (end > start && ows(line.charAt(end - 1))) {
                end--;
            }
            for (int i = start; i < end; i++) {
                char c = line.charAt(i);
                if ((c < 0x20 && c != '\t') || c == 0x7F) {
                    throw UpstreamException.bad("a control character in the value of " + line.substring(0, colon)
                            + " in the " + what);
                }
            }
            headers.add(line.substring(0, colon), line.substring(start, end));
        }
    }

    private static ResponseHead.Framing framing(boolean http11, int status, Headers headers, boolean head)
            throws UpstreamException {
        java.util.List<String> te = headers.all("Transfer-Encoding");
        java.util.List<String> cl = headers.all("Content-Length");
        if (!te.isEmpty() && !cl.isEmpty()) {
            throw UpstreamException.bad("both Content-Length and Transfer-Encoding");
        }
        if (cl.size() > 1) {
            throw UpstreamException.bad("more than one Content-Length");
        }
        long length = cl.isEmpty() ? -1 : length(cl.get(0));
        if (!te.isEmpty()) {
            if (te.size() > 1 || !te.get(0).trim().equalsIgnoreCase("chunked")) {
                throw UpstreamException.bad("a transfer coding other than chunked: '" + String.join(", ", te) + "'");
            }
            if (!http11) {
                throw UpstreamException.bad("Transfer-Encoding in an HTTP/1.0 response");
            }
        }
        if (status == 204 && (!te.isEmpty() || length > 0)) {
            throw UpstreamException.bad("a 204 response that declares a body");
        }
        if (head || status == 204 || status == 304) {
            return new ResponseHead.NoBody();
        }
        if (!te.isEmpty()) {
            return new ResponseHead.Chunked();
        }
        return length >= 0 ? new ResponseHead.Length(length) : new ResponseHead.UntilClose();
    }

    private static long length(String value) throws UpstreamException {
        if (value.isEmpty() || value.length() > 18) {
            throw UpstreamException.bad("an invalid Content-Length '" + shorten(value) + "'");
        }
        long n = 0;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (!digit(c)) {
                throw UpstreamException.bad("an invalid Content-Length '" + shorten(value) + "'");
            }
            n = n * 10 + (c - '0');
        }
        return n;
    }

    private static boolean connectionClose(Headers headers) {
        for (String value : headers.all("Connection")) {
            for (String token : value.split(",")) {
                if (token.trim().toLowerCase(Locale.ROOT).equals("close")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Upstream text for a log line or problem detail: at most 32 characters, printable ASCII only. */
    static String shorten(String value) {
        String cut = value.length() > 32 ? value.substring(0, 32) + "..." : value;
        return cut.replaceAll("[^\\x20-\\x7e]", "?");
    }

    static boolean digit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean ows(char c) {
        return c == ' ' || c == '\t';
    }

    /** RFC 9110 token characters. */
    static boolean tchar(char c) {
        return c < 128 && TCHAR[c];
    }

    /** RFC 9110 5.6.2 token characters, as a table: this runs for every character of every header name. */
    private static final boolean[] TCHAR = new boolean[128];

    static {
        for (char c = 0; c < 128; c++) {
            TCHAR[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
        }
    }
}
