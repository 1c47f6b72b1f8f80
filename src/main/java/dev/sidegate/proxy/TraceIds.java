package dev.sidegate.proxy;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The id that ties a request's problem body, logs and traces together: the trace id of a valid W3C
 * {@code traceparent} from the client, or a fresh random one.
 */
public final class TraceIds {
    private static final String ZERO = "00000000000000000000000000000000";

    private TraceIds() {
    }

    public static String fromTraceparent(String traceparent) {
        if (traceparent != null) {
            String id = parse(traceparent.trim());
            if (id != null) {
                return id;
            }
        }
        return random();
    }

    public static String random() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        long high;
        long low;
        do {
            high = r.nextLong();
            low = r.nextLong();
        } while (high == 0 && low == 0);
        byte[] id = new byte[32];
        hex(high, id, 0);
        hex(low, id, 16);
        return new String(id, StandardCharsets.ISO_8859_1);
    }

    private static final byte[] DIGITS = "0123456789abcdef".getBytes(StandardCharsets.ISO_8859_1);

    /** Sixteen lower-case hex digits of {@code value} (a span id), without HexFormat's checks and copies. */
    public static String hex(long value) {
        byte[] id = new byte[16];
        hex(value, id, 0);
        return new String(id, StandardCharsets.ISO_8859_1);
    }

    /** Writes sixteen lower-case hex digits of {@code value} into {@code to} from {@code at}. */
    public static void hex(long value, byte[] to, int at) {
        for (int i = at + 15; i >= at; i--) {
            to[i] = DIGITS[(int) (value & 0xf)];
            value >>>= 4;
        }
    }

    // version "-" trace-id "-" parent-id "-" flags, lower-case hex (W3C Trace Context level 1)
    private static String parse(String value) {
        if (value.length() < 55 || value.charAt(2) != '-' || value.charAt(35) != '-' || value.charAt(52) != '-') {
            return null;
        }
        String version = value.substring(0, 2);
        String traceId = value.substring(3, 35);
        if (!lowerHex(version) || version.equals("ff") || !lowerHex(traceId) || traceId.equals(ZERO)
                || !lowerHex(value.substring(36, 52)) || !lowerHex(value.substring(53, 55))) {
            return null;
        }
        if (version.equals("00") && value.length() != 55) {
            return null;
        }
        return traceId;
    }

    private static boolean lowerHex(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return false;
            }
        }
        return true;
    }
}
