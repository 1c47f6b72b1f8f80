package dev.sidegate.proxy;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;

/**
 * The id of one request, shared by the client, the upstream, the access log, the span and every problem body.
 * A value the client sent is kept only when the peer is a trusted proxy (a front proxy that set it for the whole
 * path) and the value is sane: 1 to {@value #MAX_LENGTH} characters of letters, digits and {@code - _ . : + / =}
 * (UUIDs, ULIDs, base64 and the ids of common proxies). Anything else is replaced by a fresh random UUID.
 */
public final class RequestIds {
    public static final String DEFAULT_HEADER = "X-Request-Id";
    public static final int MAX_LENGTH = 128;

    private final HeaderName header;
    private final Forwarding forwarding;

    public RequestIds(String headerName, Forwarding forwarding) {
        this.header = HeaderNames.create(headerName);
        this.forwarding = forwarding;
    }

    /** The header that carries the id, in and out. */
    public HeaderName header() {
        return header;
    }

    /** The request's id: the trusted peer's sane value, or a new one. */
    public String resolve(InetAddress peer, String incoming) {
        return incoming != null && sane(incoming) && forwarding.trusted(peer) ? incoming : generate();
    }

    static boolean sane(String value) {
        int length = value.length();
        if (length == 0 || length > MAX_LENGTH) {
            return false;
        }
        for (int i = 0; i < length; i++) {
            char c = value.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '_' || c == '.' || c == ':' || c == '+' || c == '/' || c == '=';
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** A random (version 4) UUID; not a secret, so not from SecureRandom, which costs a request more. */
    public static String generate() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long high = (random.nextLong() & 0xffff_ffff_ffff_0fffL) | 0x0000_0000_0000_4000L;
        long low = (random.nextLong() & 0x3fff_ffff_ffff_ffffL) | 0x8000_0000_0000_0000L;
        byte[] hex = new byte[32];
        TraceIds.hex(high, hex, 0);
        TraceIds.hex(low, hex, 16);
        byte[] uuid = new byte[36];
        System.arraycopy(hex, 0, uuid, 0, 8);
        uuid[8] = '-';
        System.arraycopy(hex, 8, uuid, 9, 4);
        uuid[13] = '-';
        System.arraycopy(hex, 12, uuid, 14, 4);
        uuid[18] = '-';
        System.arraycopy(hex, 16, uuid, 19, 4);
        uuid[23] = '-';
        System.arraycopy(hex, 20, uuid, 24, 12);
        return new String(uuid, StandardCharsets.ISO_8859_1);
    }
}
