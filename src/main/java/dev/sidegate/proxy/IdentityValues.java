package dev.sidegate.proxy;

import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Map;

import com.nimbusds.jose.util.JSONObjectUtils;

/**
 * How a claim becomes the value of an identity header, exactly and reversibly: visible ASCII passes as it is;
 * {@code %}, control characters, non-ASCII (as UTF-8 bytes) and spaces at either end are percent-encoded (RFC 3986
 * style, upper-case hex). Arrays join their elements with {@code ,} and encode a {@code ,} inside an element, objects
 * are JSON, dates are epoch seconds. Two different claims never give the same header value, and percent-decoding
 * gives the claim back.
 */
public final class IdentityValues {
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private IdentityValues() {
    }

    /** The header value for a claim; empty for an empty array (then no header is sent). */
    public static String encode(Object claim) {
        if (claim instanceof Collection<?> list) {
            java.util.StringJoiner joined = new java.util.StringJoiner(",");
            for (Object element : list) {
                joined.add(encode(text(element), true));
            }
            return joined.toString();
        }
        return encode(text(claim), false);
    }

    /** A claim as plain text (arrays joined with ','), for places that encode it their own way (a query). */
    public static String plain(Object claim) {
        if (claim instanceof Collection<?> list) {
            java.util.StringJoiner joined = new java.util.StringJoiner(",");
            list.forEach(element -> joined.add(text(element)));
            return joined.toString();
        }
        return text(claim);
    }

    private static String text(Object value) {
        if (value instanceof Map<?, ?> map) {
            @SuppressWarnings("unchecked")
            Map<String, Object> object = (Map<String, Object>) map;
            return JSONObjectUtils.toJSONString(object);
        }
        if (value instanceof java.util.List<?> list) {
            return com.nimbusds.jose.util.JSONArrayUtils.toJSONString(list);
        }
        if (value instanceof java.util.Date date) {
            return Long.toString(date.toInstant().getEpochSecond());
        }
        return String.valueOf(value);
    }

    /** Percent-encodes what could be lost or misread on the way; {@code listElement} also encodes ','. */
    static String encode(String text, boolean listElement) {
        int n = text.length();
        boolean plain = true;
        for (int i = 0; i < n && plain; i++) {
            plain = passes(text.charAt(i), i, n, listElement);
        }
        if (plain) {
            return text;
        }
        StringBuilder sb = new StringBuilder(n + 16);
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; i++) {
            int b = bytes[i] & 0xFF;
            if (b < 0x80 && passes((char) b, i, bytes.length, listElement)) {
                sb.append((char) b);
            } else {
                sb.append('%').append(HEX[b >> 4]).append(HEX[b & 0xF]);
            }
        }
        return sb.toString();
    }

    private static boolean passes(char c, int index, int length, boolean listElement) {
        if (c == ' ') {
            return index > 0 && index < length - 1;
        }
        return c > 0x20 && c < 0x7F && c != '%' && !(listElement && c == ',');
    }
}
