package dev.sidegate.proxy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * A response body as a stream that can be read once, plus what must happen when it has been written or dropped
 * (for an upstream body: giving the connection back to the pool, or closing it).
 *
 * @param stream  the bytes
 * @param length  the length in bytes; -1 when unknown (the client then gets a chunked body)
 * @param onClose released exactly when the body is closed
 */
public record ResponseBody(InputStream stream, long length, AutoCloseable onClose) implements AutoCloseable {
    private static final ResponseBody NONE = new ResponseBody(InputStream.nullInputStream(), 0, () -> { });

    public static ResponseBody none() {
        return NONE;
    }

    public static ResponseBody of(byte[] bytes) {
        return new ResponseBody(new ByteArrayInputStream(bytes), bytes.length, () -> { });
    }

    @Override
    public void close() {
        try {
            onClose.close();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
