package dev.sidegate.proxy;

import java.io.IOException;
import java.io.InputStream;

/** A stream whose subclasses read only in blocks: one byte is read as a block of one. */
public abstract class BlockReadInputStream extends InputStream {

    @Override
    public final int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public abstract int read(byte[] b, int off, int len) throws IOException;
}
