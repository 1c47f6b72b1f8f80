package dev.sidegate.upstream;

import java.io.IOException;

import dev.sidegate.proxy.Headers;

/**
 * A response body read from its connection by the one framing its head declared. The moment the body has been read
 * to its exact end the connection goes back to the pool (or is closed when it cannot be reused), before the caller
 * has written the last bytes anywhere, so the next request from the same client finds it idle. Closing the stream
 * before the end closes the connection: a half-read response must never reach another exchange.
 */
abstract sealed class ResponseBodyInput extends dev.sidegate.proxy.BlockReadInputStream {
    /** Chunk-size lines longer than this (with extensions) are a bad response. */
    static final int MAX_CHUNK_LINE = 4096;

    final Http1Connection conn;
    private final boolean reusable;
    private boolean finished;
    private boolean released;

    ResponseBodyInput(Http1Connection conn, boolean reusable) {
        this.conn = conn;
        this.reusable = reusable;
    }

    static ResponseBodyInput of(Http1Connection conn, ResponseHead head, boolean reusable) {
        return switch (head.framing()) {
            case ResponseHead.NoBody n -> new Fixed(conn, reusable, 0);
            case ResponseHead.Length l -> new Fixed(conn, reusable, l.bytes());
            case ResponseHead.Chunked c -> new Chunked(conn, reusable);
            case ResponseHead.UntilClose u -> new UntilClose(conn);
        };
    }

    /** Trailer fields of a chunked body, once it has been read to the end; empty otherwise. */
    Headers trailers() {
        return Headers.empty();
    }

    boolean finished() {
        return finished;
    }

    /** The body ended exactly: give the connection back, unless it cannot carry another exchange. */
    final void finish() {
        if (finished) {
            return;
        }
        finished = true;
        released = true;
        conn.pool().release(conn, reusable && conn.buffered() == 0);
    }

    /** Any failure while reading: the connection is in an unknown state and is closed. */
    final IOException fail(IOException e) {
        discard();
        return e;
    }

    private void discard() {
        if (!released) {
            released = true;
            conn.close();
        }
    }

    @Override
    public final int read(byte[] b, int off, int len) throws IOException {
        if (finished) {
            return -1;
        }
        if (released) {
            throw new IOException("the response body was closed");
        }
        if (len == 0) {
            return 0;
        }
        try {
            return readBody(b, off, len);
        } catch (IOException e) {
            throw fail(e);
        } catch (RuntimeException e) {
            discard();
            throw e;
        }
    }

    abstract int readBody(byte[] b, int off, int len) throws IOException;

    @Override
    public void close() {
        if (!finished) {
            discard();
        }
    }

    /** A Content-Length body (or none: length 0). */
    static final class Fixed extends ResponseBodyInput {
        private final long length;
        private long remaining;

        Fixed(Http1Connection conn, boolean reusable, long length) {
            super(conn, reusable);
            this.length = length;
            this.remaining = length;
            if (length == 0) {
                finish();
            }
        }

        @Override
        int readBody(byte[] b, int off, int len) throws IOException {
            int n = conn.read(b, off, (int) Math.min(len, remaining));
            if (n < 0) {
                throw new UpstreamException(UpstreamException.Kind.CLOSED, "the upstream closed the connection after "
                        + (length - remaining) + " of " + length + " body bytes");
            }
            remaining -= n;
            if (remaining == 0) {
                finish();
            }
            return n;
        }

        @Override
        public int available() {
            return (int) Math.min(remaining, conn.buffered());
        }
    }

    /** A chunked body: strict chunk-size lines, CRLF after every chunk's data, a bounded trailer section. */
    static final class Chunked extends ResponseBodyInput {
        private long chunkRemaining;
        private boolean inChunk;
        private Headers trailers = Headers.empty();

        Chunked(Http1Connection conn, boolean reusable) {
            super(conn, reusable);
        }

        /**
         * Reads the first chunk-size line if its bytes have already arrived, so that a malformed body is found
         * before the response head goes to the client. Never blocks.
         */
        void checkStart() throws IOException {
            if (!inChunk && conn.buffered() > 0) {
                try {
                    nextChunk();
                } catch (IOException e) {
                    throw fail(e);
                }
            }
        }

        @Override
        int readBody(byte[] b, int off, int len) throws IOException {
            if (!inChunk) {
                nextChunk();
                if (finished()) {
                    return -1;
                }
            }
            int n = conn.read(b, off, (int) Math.min(len, chunkRemaining));
            if (n < 0) {
                throw new UpstreamException(UpstreamException.Kind.CLOSED, "the upstream closed the connection inside a chunk");
            }
            chunkRemaining -= n;
            if (chunkRemaining == 0) {
                inChunk = false;
                // Look ahead while the bytes are already here: if this was the last chunk, the connection goes back
                // to the pool before the caller writes these bytes on.
                if (conn.buffered() >= 2) {
                    conn.readCrlf("chunk data");
                    afterCrlf = true;
                    if (conn.buffered() > 0) {
                        nextChunk();
                    }
                }
            }
            return n;
        }

        private boolean afterCrlf = true;

        /** Reads the CRLF that ends the previous chunk (if any), the next chunk-size line, and the trailers. */
        private void nextChunk() throws IOException {
            if (!afterCrlf) {
                conn.readCrlf("chunk data");
            }
            afterCrlf = false;
            String line = conn.readLine(MAX_CHUNK_LINE, "chunk size line");
            if (line == null) {
                throw new UpstreamException(UpstreamException.Kind.CLOSED, "the upstream closed the connection before the last chunk");
            }
            long size = chunkSize(line);
            if (size == 0) {
                trailers = ResponseParser.fields(conn, "trailer section");
                afterCrlf = true;
                finish();
                return;
            }
            chunkRemaining = size;
            inChunk = true;
        }

        static long chunkSize(String line) throws UpstreamException {
            int end = line.indexOf(';');
            String hex = end < 0 ? line : line.substring(0, end);
            // Trailing whitespace before an extension is tolerated (BWS); leading whitespace is not.
            int stop = hex.length();
            while (stop > 0 && (hex.charAt(stop - 1) == ' ' || hex.charAt(stop - 1) == '\t')) {
                stop--;
            }
            if (stop == 0 || stop > 15) {
                throw UpstreamException.bad("an invalid chunk size '" + ResponseParser.shorten(line) + "'");
            }
            long size = 0;
            for (int i = 0; i < stop; i++) {
                int digit = Character.digit(hex.charAt(i), 16);
                if (digit < 0) {
                    throw UpstreamException.bad("an invalid chunk size '" + ResponseParser.shorten(line) + "'");
                }
                size = size * 16 + digit;
            }
            if (end >= 0) {
                for (int i = end; i < line.length(); i++) {
                    char c = line.charAt(i);
                    if ((c < 0x20 && c != '\t') || c == 0x7F) {
                        throw UpstreamException.bad("a control character in a chunk extension");
                    }
                }
            }
            return size;
        }

        @Override
        Headers trailers() {
            return trailers;
        }

        @Override
        public int available() {
            return inChunk ? (int) Math.min(chunkRemaining, conn.buffered()) : 0;
        }
    }

    /** A body that ends when the upstream closes the connection; the connection is never reused. */
    static final class UntilClose extends ResponseBodyInput {
        UntilClose(Http1Connection conn) {
            super(conn, false);
        }

        @Override
        int readBody(byte[] b, int off, int len) throws IOException {
            int n = conn.read(b, off, len);
            if (n < 0) {
                finish();
            }
            return n;
        }

        @Override
        public int available() {
            return conn.buffered();
        }
    }
}
