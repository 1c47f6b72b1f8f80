package dev.sidegate.proxy;

import java.io.ByteArrayInputStream;
import java.io.InputStream;

/**
 * A request body as a stream that can be read once. A stage that reads it must pass on a replacement
 * ({@link #of(byte[])}) in the request it forwards.
 *
 * @param stream the bytes
 * @param length the length in bytes; 0 for no body, -1 when unknown (chunked)
 */
public record RequestBody(InputStream stream, long length) {
    private static final RequestBody NONE = new RequestBody(InputStream.nullInputStream(), 0);

    public static RequestBody none() {
        return NONE;
    }

    public static RequestBody of(byte[] bytes) {
        return new RequestBody(new ByteArrayInputStream(bytes), bytes.length);
    }

    public boolean present() {
        return length != 0;
    }
}
