package dev.sidegate.proxy;

/**
 * Follows the WebSocket frames (RFC 6455 section 5.2) in one direction of a tunnel without changing them, to know
 * when the bytes relayed so far end on a frame boundary: only there can Sidegate put a close frame of its own.
 */
final class FrameBoundary {
    private final long maxPayload;
    private final byte[] header = new byte[14];
    private int headerLength;
    private int headerStart;
    private long payloadLeft;

    /** @param maxPayload the largest frame payload allowed through */
    FrameBoundary(long maxPayload) {
        this.maxPayload = maxPayload;
    }

    /**
     * Takes the next bytes into account before they are relayed.
     *
     * @return -1 when all of them may go; else the offset in {@code b} where a frame over the limit begins (its header
     *         may have begun in an earlier call: then {@code off}); nothing from there on may be relayed
     */
    int relayed(byte[] b, int off, int len) {
        int i = off;
        int end = off + len;
        headerStart = off; // a header begun in an earlier call: its first bytes went already
        while (i < end) {
            if (payloadLeft > 0) {
                int n = (int) Math.min(payloadLeft, end - i);
                payloadLeft -= n;
                i += n;
                continue;
            }
            if (headerLength == 0) {
                headerStart = i;
            }
            header[headerLength++] = b[i++];
            long needed = headerNeeds();
            if (needed >= 0 && headerLength == needed) {
                long length = payloadLength();
                if (length > maxPayload) {
                    headerLength = 0;
                    return headerStart;
                }
                payloadLeft = length;
                headerLength = 0;
            }
        }
        return -1;
    }

    /** Whether the bytes relayed so far end exactly where a frame ends (or nothing was relayed). */
    boolean atBoundary() {
        return headerLength == 0 && payloadLeft == 0;
    }

    /** The full header length once the first two bytes are known; -1 before. */
    private long headerNeeds() {
        if (headerLength < 2) {
            return -1;
        }
        int len7 = header[1] & 0x7F;
        int mask = (header[1] & 0x80) != 0 ? 4 : 0;
        return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + mask;
    }

    private long payloadLength() {
        int len7 = header[1] & 0x7F;
        if (len7 < 126) {
            return len7;
        }
        if (len7 == 126) {
            return ((header[2] & 0xFF) << 8) | (header[3] & 0xFF);
        }
        long n = 0;
        for (int i = 2; i < 10; i++) {
            n = (n << 8) | (header[i] & 0xFF);
        }
        return n < 0 ? Long.MAX_VALUE : n; // the most significant bit must be 0; never at a boundary again
    }

    /** A close frame from the server side (unmasked) with a status code and no reason. */
    static byte[] closeFrame(int code) {
        return new byte[] {(byte) 0x88, 2, (byte) (code >> 8), (byte) code};
    }
}
