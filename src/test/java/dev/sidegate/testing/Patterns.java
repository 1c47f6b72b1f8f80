package dev.sidegate.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.HexFormat;

/** Deterministic byte streams of any length, so big bodies can be checked by digest without holding them. */
public final class Patterns {
    private Patterns() {
    }

    public static byte at(long i) {
        return (byte) ((i * 31 + (i >>> 7)) & 0xFF);
    }

    public static void write(OutputStream out, long n) throws IOException {
        byte[] chunk = new byte[32 * 1024];
        long written = 0;
        while (written < n) {
            int len = (int) Math.min(chunk.length, n - written);
            for (int i = 0; i < len; i++) {
                chunk[i] = at(written + i);
            }
            out.write(chunk, 0, len);
            written += len;
        }
    }

    /** An input stream producing the pattern, for uploads. */
    public static InputStream stream(long n) {
        return new InputStream() {
            private long pos;

            @Override
            public int read() {
                return pos < n ? at(pos++) & 0xFF : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (pos >= n) {
                    return -1;
                }
                int count = (int) Math.min(len, n - pos);
                for (int i = 0; i < count; i++) {
                    b[off + i] = at(pos++);
                }
                return count;
            }
        };
    }

    public static String sha256(long n) {
        MessageDigest digest = TestUpstream.digest();
        byte[] chunk = new byte[32 * 1024];
        long done = 0;
        while (done < n) {
            int len = (int) Math.min(chunk.length, n - done);
            for (int i = 0; i < len; i++) {
                chunk[i] = at(done + i);
            }
            digest.update(chunk, 0, len);
            done += len;
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
