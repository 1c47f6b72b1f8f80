package dev.sidegate.proxy;

import java.util.HexFormat;
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
        return HexFormat.of().toHexDigits(high) + HexFormat.of().toHexDigits(low);
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
