package dev.sidegate.upstream;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;

/**
 * One keep-alive connection to an upstream, owned by one exchange at a time, with its own read and write buffers.
 * Reads are strict about line endings: a line ends with CRLF, and a bare CR or LF is a bad response.
 */
final class Http1Connection {
    // Every connection in use holds both, so they bound the heap of a burst (1,000 active client connections hold
    // 1,000 upstream connections): 8 KiB holds a response head and a small body; a request head is usually under 4
    // KiB, and larger writes and reads (bodies) bypass the buffers.
    private static final int READ_BUFFER = 8 * 1024;
    private static final int WRITE_BUFFER = 4 * 1024;

    private final ConnectionPool pool;
    private final Socket socket;
    private final SocketChannel channel;
    private final InputStream in;
    private final OutputStream out;
    private final byte[] readBuffer = new byte[READ_BUFFER];
    private int readPos;
    private int readLimit;
    private final byte[] writeBuffer = new byte[WRITE_BUFFER];
    private int writePos;
    private final ByteBuffer probe = ByteBuffer.allocate(1);
    private long idleSinceNanos;
    private long readTimeoutNanos = Long.MAX_VALUE / 4;
    private volatile long readDeadlineNanos;
    private volatile boolean timedOut;
    private int exchanges;
    private volatile boolean closed;

    /**
     * @param socket  the connected socket (an SSLSocket over {@code channel} for https)
     * @param channel the plain TCP channel underneath, used to look for a close without blocking
     */
    Http1Connection(ConnectionPool pool, Socket socket, SocketChannel channel) throws IOException {
        this.pool = pool;
        this.socket = socket;
        this.channel = channel;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    ConnectionPool pool() {
        return pool;
    }

    /** Whether an earlier exchange used this connection (then a close found at once may be the idle-close race). */
    boolean reused() {
        return exchanges > 0;
    }

    /**
     * The response timeout bounds each wait for the upstream's bytes. It is not the socket's SO_TIMEOUT: a read with a
     * timeout parks its virtual thread with a timer, which cost about a third of a proxied request's CPU (measured,
     * loadtest/ANALYSIS.md). A read records its deadline instead, and the pool's sweeper closes a connection whose read
     * is overdue ({@link #closeIfReadOverdue}), which that read reports as the timeout.
     */
    void startExchange(Duration responseTimeout) {
        readTimeoutNanos = Math.max(1_000_000L, responseTimeout.toNanos());
        timedOut = false;
        writePos = 0;
    }

    /**
     * From the sweeper: closes the connection when a read has waited past its deadline.
     *
     * @return whether a read is still waiting (its deadline not yet reached)
     */
    boolean closeIfReadOverdue(long nowNanos) {
        long deadline = readDeadlineNanos;
        if (deadline != 0 && nowNanos - deadline > 0) {
            timedOut = true;
            close();
            return false;
        }
        return deadline != 0;
    }

    boolean readWaiting() {
        return readDeadlineNanos != 0;
    }

    /** One blocking read of the socket, under the response timeout. */
    private int socketRead(byte[] b, int off, int len) throws IOException {
        readDeadlineNanos = System.nanoTime() + readTimeoutNanos;
        pool.readStarted();
        try {
            return in.read(b, off, len);
        } catch (IOException e) {
            if (timedOut) {
                throw new UpstreamException(UpstreamException.Kind.RESPONSE_TIMEOUT, "no data from the upstream within the timeout", e);
            }
            throw new UpstreamException(UpstreamException.Kind.CLOSED, "the connection to the upstream broke: "
                    + e.getClass().getSimpleName(), e);
        } finally {
            readDeadlineNanos = 0;
        }
    }

    void endExchange() {
        exchanges++;
    }

    long idleSinceNanos() {
        return idleSinceNanos;
    }

    void idleSince(long nanos) {
        this.idleSinceNanos = nanos;
    }

    /**
     * Whether an idle connection can take a request: no byte arrived while it was idle (a late or unsolicited
     * response poisons it) and the upstream has not closed it. Does not block.
     */
    boolean usable() {
        if (closed || readPos < readLimit) {
            return false;
        }
        try {
            if (socket != channel.socket() && in.available() > 0) {
                return false; // decrypted bytes waiting in the TLS layer
            }
            synchronized (channel.blockingLock()) {
                channel.configureBlocking(false);
                try {
                    probe.clear();
                    return channel.read(probe) == 0;
                } finally {
                    channel.configureBlocking(true);
                }
            }
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Bytes already read from the socket and not yet consumed. */
    int buffered() {
        return readLimit - readPos;
    }

    // ---- reading ----

    /** Fills the buffer when it is empty; false at end of stream. */
    private boolean fill() throws IOException {
        if (readPos < readLimit) {
            return true;
        }
        int n = socketRead(readBuffer, 0, readBuffer.length);
        if (n < 0) {
            return false;
        }
        readPos = 0;
        readLimit = n;
        return true;
    }

    /** Whether the stream has ended before any byte of a new message (an idle close). */
    boolean atEndOfStream() throws IOException {
        return !fill();
    }

    /**
     * Reads one line ending in CRLF, without the CRLF, as ISO-8859-1 text.
     *
     * @param max    the longest line accepted, in bytes
     * @param what   what the line is, for the error message
     * @return the line; null when the stream ended before its first byte
     */
    String readLine(int max, String what) throws IOException {
        StringBuilder line = null;
        int length = 0;
        while (true) {
            if (!fill()) {
                if (line == null && length == 0) {
                    return null;
                }
                throw new UpstreamException(UpstreamException.Kind.CLOSED, "the upstream closed the connection inside the "
                        + what);
            }
            int start = readPos;
            for (int i = readPos; i < readLimit; i++) {
                byte b = readBuffer[i];
                if (b == '\n') {
                    throw UpstreamException.bad("a bare LF ends a line of the " + what);
                }
                if (b == '\r') {
                    int segment = i - start;
                    length += segment;
                    if (length > max) {
                        throw UpstreamException.bad("the " + what + " is longer than " + max + " bytes");
                    }
                    String text = new String(readBuffer, start, segment, java.nio.charset.StandardCharsets.ISO_8859_1);
                    readPos = i + 1;
                    expectLf(what);
                    return line == null ? text : line.append(text).toString();
                }
            }
            int segment = readLimit - start;
            length += segment;
            if (length > max) {
                throw UpstreamException.bad("the " + what + " is longer than " + max + " bytes");
            }
            if (line == null) {
                line = new StringBuilder(Math.min(max, 256));
            }
            line.append(new String(readBuffer, start, segment, java.nio.charset.StandardCharsets.ISO_8859_1));
            readPos = readLimit;
        }
    }

    private void expectLf(String what) throws IOException {
        if (!fill()) {
            throw new UpstreamException(UpstreamException.Kind.CLOSED, "the upstream closed the connection inside the " + what);
        }
        if (readBuffer[readPos] != '\n') {
            throw UpstreamException.bad("a CR without LF in the " + what);
        }
        readPos++;
    }

    /** Reads exactly CRLF (the end of a chunk's data). */
    void readCrlf(String what) throws IOException {
        for (byte expected : new byte[] {'\r', '\n'}) {
            if (!fill()) {
                throw new UpstreamException(UpstreamException.Kind.CLOSED, "the upstream closed the connection inside the " + what);
            }
            if (readBuffer[readPos] != expected) {
                throw UpstreamException.bad("the " + what + " is not followed by CRLF");
            }
            readPos++;
        }
    }

    /** Reads up to {@code len} body bytes; -1 at end of stream. */
    int read(byte[] b, int off, int len) throws IOException {
        if (readPos >= readLimit && len >= readBuffer.length) {
            // A large read with nothing buffered goes straight to the caller's array.
            return socketRead(b, off, len);
        }
        if (!fill()) {
            return -1;
        }
        int n = Math.min(len, readLimit - readPos);
        System.arraycopy(readBuffer, readPos, b, off, n);
        readPos += n;
        return n;
    }

    // ---- writing ----

    /** Writes the low byte of each char (callers validated the text as ISO-8859-1), in bulk copies. */
    @SuppressWarnings("deprecation") // String.getBytes(int, int, byte[], int) is exactly "the low byte of each char"
    void writeAscii(String s) throws IOException {
        int length = s.length();
        int from = 0;
        while (from < length) {
            if (writePos == writeBuffer.length) {
                flushBuffer();
            }
            int n = Math.min(length - from, writeBuffer.length - writePos);
            s.getBytes(from, from + n, writeBuffer, writePos);
            writePos += n;
            from += n;
        }
    }

    void writeCrlf() throws IOException {
        if (writePos + 2 > writeBuffer.length) {
            flushBuffer();
        }
        writeBuffer[writePos++] = '\r';
        writeBuffer[writePos++] = '\n';
    }

    void write(byte[] b, int off, int len) throws IOException {
        if (len >= writeBuffer.length) {
            flushBuffer();
            out.write(b, off, len);
            return;
        }
        if (writePos + len > writeBuffer.length) {
            flushBuffer();
        }
        System.arraycopy(b, off, writeBuffer, writePos, len);
        writePos += len;
    }

    /** Sends what is buffered. */
    void flush() throws IOException {
        flushBuffer();
        out.flush();
    }

    private void flushBuffer() throws IOException {
        if (writePos > 0) {
            out.write(writeBuffer, 0, writePos);
            writePos = 0;
        }
    }

    // ---- after a switch of protocols (101) ----

    /** The connection's bytes from here on, those already read past the 101's head first; reads wait without limit. */
    java.io.InputStream tunnelInput() {
        return new java.io.InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (readPos < readLimit) {
                    int n = Math.min(len, readLimit - readPos);
                    System.arraycopy(readBuffer, readPos, b, off, n);
                    readPos += n;
                    return n;
                }
                return in.read(b, off, len);
            }
        };
    }

    /** Writes go straight to the socket. */
    OutputStream tunnelOutput() throws IOException {
        flush();
        return out;
    }

    // ---- lifecycle ----

    boolean isClosed() {
        return closed;
    }

    /** Closes the socket; the pool forgets it. Safe to call more than once, from any thread. */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            socket.close();
        } catch (IOException e) {
            // closing: nothing left to do
        }
        pool.forget(this);
    }
}
