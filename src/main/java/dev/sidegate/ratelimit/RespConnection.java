package dev.sidegate.ratelimit;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * One blocking connection to a standalone Redis, speaking RESP2 on the calling (virtual) thread: a command is one
 * write, its reply is read by the caller itself. Used by one caller at a time ({@link RespConnections} lends it).
 * Replies are parsed strictly and bounded; anything malformed is an {@link IOException}, after which the connection
 * is not used again.
 */
final class RespConnection implements AutoCloseable {
    /** Bounds on what a reply may hold: the token-bucket script answers a short array of integers. */
    static final int MAX_LINE = 4096;
    static final int MAX_BULK = 64 * 1024;
    static final int MAX_ARRAY = 1024;
    static final int MAX_DEPTH = 4;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final byte[] buffer = new byte[1024];
    private int pos;
    private int limit;
    private byte[] command = new byte[512];
    private int commandLength;
    private long idleSinceNanos;
    /** When the current call must have its reply (0 between calls); the sweep closes the socket once it passed. */
    private volatile long deadlineNanos;
    private volatile boolean expired;

    private RespConnection(Socket socket) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** An error reply ({@code -ERR ...}): Redis answered, the connection is still good. */
    record ErrorReply(String message) {
    }

    /**
     * Connects, verifies TLS (host name included), authenticates and selects the database, within
     * {@code timeoutMillis} for each step.
     *
     * @param tls the socket factory for {@code rediss://}, or null
     */
    static RespConnection open(RedisEndpoint endpoint, javax.net.ssl.SSLSocketFactory tls, int timeoutMillis) throws IOException {
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(endpoint.host(), endpoint.port()), timeoutMillis);
            socket.setSoTimeout(timeoutMillis);
            if (tls != null) {
                SSLSocket ssl = (SSLSocket) tls.createSocket(socket, endpoint.host(), endpoint.port(), true);
                SSLParameters parameters = ssl.getSSLParameters();
                parameters.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name the host
                ssl.setSSLParameters(parameters);
                ssl.startHandshake();
                socket = ssl;
            }
            RespConnection connection = new RespConnection(socket);
            if (endpoint.password() != null) {
                Object reply = endpoint.username() == null
                        ? connection.call("AUTH", endpoint.password())
                        : connection.call("AUTH", endpoint.username(), endpoint.password());
                if (reply instanceof ErrorReply e) {
                    throw new IOException("Redis refused AUTH: " + e.message());
                }
            }
            if (endpoint.database() != 0) {
                if (connection.call("SELECT", Integer.toString(endpoint.database())) instanceof ErrorReply e) {
                    throw new IOException("Redis refused SELECT " + endpoint.database() + ": " + e.message());
                }
            }
            // Calls are bounded by deadlines that a sweep enforces (RespConnections): a timed read parks the virtual
            // thread with a timer of its own, which cost about 10 us per call (loadtest/ANALYSIS.md).
            socket.setSoTimeout(0);
            return connection;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /**
     * Sends one command and reads its reply: a {@code Long}, a {@code String} (simple or bulk), null, a
     * {@code List<Object>}, or an {@link ErrorReply}. It waits as long as the reply takes: callers bound it with
     * {@link #startCall(long)} and a sweep of {@link #expireIfOverdue(long)}.
     */
    Object call(String... args) throws IOException {
        commandLength = 0;
        appendHeader('*', args.length);
        for (String arg : args) {
            byte[] bytes = arg.getBytes(StandardCharsets.UTF_8);
            appendHeader('$', bytes.length);
            append(bytes, bytes.length);
            append(CRLF, 2);
        }
        try {
            out.write(command, 0, commandLength);
            out.flush();
            return readReply(0);
        } catch (IOException e) {
            if (expired) {
                throw new java.net.SocketTimeoutException("deadline passed");
            }
            throw e;
        }
    }

    /** The call about to start must be answered by {@code deadline} (System.nanoTime()). */
    void startCall(long deadline) {
        deadlineNanos = deadline == 0 ? 1 : deadline; // 0 means no call
    }

    void endCall() {
        deadlineNanos = 0;
    }

    /** @return whether a call is waiting (and was not overdue): the sweep must come again */
    boolean expireIfOverdue(long nowNanos) {
        long deadline = deadlineNanos;
        if (deadline == 0) {
            return false;
        }
        if (nowNanos - deadline < 0) {
            return true;
        }
        expired = true;
        close(); // the waiting read fails at once, and reports the timeout
        return false;
    }

    boolean expired() {
        return expired;
    }

    boolean inCall() {
        return deadlineNanos != 0;
    }

    long idleSinceNanos() {
        return idleSinceNanos;
    }

    void markIdle(long nowNanos) {
        idleSinceNanos = nowNanos;
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing: nothing left to lose
        }
    }

    private static final byte[] CRLF = {'\r', '\n'};

    private void appendHeader(char type, int n) {
        ensure(16);
        command[commandLength++] = (byte) type;
        int digits = 1; // n >= 0: a length or a count
        for (int m = n; m >= 10; m /= 10) {
            digits++;
        }
        int end = commandLength + digits;
        commandLength = end;
        do {
            command[--end] = (byte) ('0' + n % 10);
            n /= 10;
        } while (n > 0);
        command[commandLength++] = '\r';
        command[commandLength++] = '\n';
    }

    private void append(byte[] bytes, int length) {
        ensure(length);
        System.arraycopy(bytes, 0, command, commandLength, length);
        commandLength += length;
    }

    private void ensure(int more) {
        if (commandLength + more > command.length) {
            command = java.util.Arrays.copyOf(command, Math.max(command.length * 2, commandLength + more));
        }
    }

    private Object readReply(int depth) throws IOException {
        if (depth > MAX_DEPTH) {
            throw malformed("nested deeper than " + MAX_DEPTH);
        }
        byte type = readByte();
        String line = readLine();
        return switch (type) {
            case '+' -> line;
            case '-' -> new ErrorReply(line);
            case ':' -> parseLong(line);
            case '$' -> {
                int length = sizeOrNil(line, MAX_BULK, "a bulk string of %d bytes");
                if (length == -1) {
                    yield null;
                }
                byte[] bytes = new byte[length];
                readFully(bytes);
                if (readByte() != '\r' || readByte() != '\n') {
                    throw malformed("a bulk string without its CRLF");
                }
                yield new String(bytes, StandardCharsets.UTF_8);
            }
            case '*' -> {
                int count = sizeOrNil(line, MAX_ARRAY, "an array of %d elements");
                if (count == -1) {
                    yield null;
                }
                List<Object> list = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    list.add(readReply(depth + 1));
                }
                yield list;
            }
            default -> throw malformed("reply type byte 0x" + Integer.toHexString(type & 0xff));
        };
    }

    /** A line up to CRLF (a bare CR or LF, or any other control character, inside it is malformed). */
    private String readLine() throws IOException {
        StringBuilder line = new StringBuilder(16);
        while (true) {
            byte b = readByte();
            if (b == '\r') {
                if (readByte() != '\n') {
                    throw malformed("CR without LF");
                }
                return line.toString();
            }
            if (b == '\n') {
                throw malformed("a bare LF");
            }
            if ((b >= 0 && b < 0x20) || b == 0x7f) {
                throw malformed("a control character in a line"); // lines reach logs and readiness details
            }
            if (line.length() >= MAX_LINE) {
                throw malformed("a line longer than " + MAX_LINE + " bytes");
            }
            line.append((char) (b & 0xff));
        }
    }

    /** A bulk string's or array's size, within {@code max}; -1 for RESP's nil. */
    private static int sizeOrNil(String line, int max, String what) throws IOException {
        long size = parseLong(line);
        if (size != -1 && (size < 0 || size > max)) {
            throw malformed(String.format(Locale.ROOT, what, size));
        }
        return (int) size;
    }

    private static long parseLong(String s) throws IOException {
        if (s.isEmpty() || s.length() > 20) {
            throw malformed("'" + shown(s) + "' where a number belongs");
        }
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw malformed("'" + shown(s) + "' where a number belongs");
        }
    }

    private byte readByte() throws IOException {
        if (pos == limit) {
            fill();
        }
        return buffer[pos++];
    }

    private void readFully(byte[] into) throws IOException {
        int done = 0;
        while (done < into.length) {
            if (pos == limit) {
                fill();
            }
            int n = Math.min(into.length - done, limit - pos);
            System.arraycopy(buffer, pos, into, done, n);
            pos += n;
            done += n;
        }
    }

    private void fill() throws IOException {
        int n = in.read(buffer, 0, buffer.length);
        if (n < 0) {
            throw new EOFException("Redis closed the connection");
        }
        pos = 0;
        limit = n;
    }

    private static IOException malformed(String what) {
        return new IOException("Redis sent a malformed reply: " + what);
    }

    /** A short, printable excerpt of what Redis sent. */
    private static String shown(String s) {
        String cut = s.length() > 32 ? s.substring(0, 32) + "..." : s;
        return cut.replaceAll("[^\\x20-\\x7e]", "?");
    }
}
