package dev.sidegate.auth;

import java.util.List;

import dev.sidegate.proxy.Headers;

/** RFC 6750 section 2.1: the bearer token of the {@code Authorization} header, if that is what the client sent. */
final class BearerToken {

    private BearerToken() {
    }

    /** What the Authorization header holds. */
    sealed interface Credentials permits None, Bearer, Malformed, OtherScheme {
    }

    record None() implements Credentials {
    }

    record Bearer(String token) implements Credentials {
    }

    record Malformed(String reason) implements Credentials {
    }

    /** Another scheme, such as Basic: not Sidegate's to judge. */
    record OtherScheme() implements Credentials {
    }

    /**
     * @param credentials  what the handshake carried: a bearer token, or malformed
     * @param withoutToken the request's headers with the token's cookie or sub-protocol entry taken out
     */
    record FromHandshake(Credentials credentials, Headers withoutToken) {
    }

    /** A WebSocket handshake's token from the named cookie or the sub-protocol entry with the prefix, in that order. */
    static java.util.Optional<FromHandshake> fromHandshake(Headers headers, java.util.Optional<String> cookie,
                                                           java.util.Optional<String> protocolPrefix) {
        return cookie.flatMap(name -> takeEntry(headers, "Cookie", ";", "; ", name + "=", "the " + name + " cookie"))
                .or(() -> protocolPrefix.flatMap(prefix -> takeEntry(headers, "Sec-WebSocket-Protocol", ",", ", ", prefix,
                                                                     "the Sec-WebSocket-Protocol entry")));
    }

    /**
     * The token in the entry of a list-valued header ({@code Cookie} pairs, sub-protocols) that starts with
     * {@code prefix}, and the headers with that entry taken out. Two such entries are malformed, not a choice.
     */
    private static java.util.Optional<FromHandshake> takeEntry(Headers headers, String header, String separator, String joiner,
                                                               String prefix, String where) {
        List<String> kept = new java.util.ArrayList<>();
        String token = null;
        for (String value : headers.all(header)) {
            for (String entry : value.split(separator)) {
                String e = entry.trim();
                if (e.startsWith(prefix)) {
                    token = token == null ? e.substring(prefix.length()) : "";
                } else if (!e.isEmpty()) {
                    kept.add(e);
                }
            }
        }
        if (token == null) {
            return java.util.Optional.empty();
        }
        Headers.Builder b = headers.toBuilder().remove(header);
        if (!kept.isEmpty()) {
            b.add(header, String.join(joiner, kept));
        }
        return java.util.Optional.of(new FromHandshake(bearer(token, where), b.build()));
    }

    private static Credentials bearer(String token, String where) {
        if (!token68(token)) {
            return new Malformed(where + " does not hold one bearer token");
        }
        return new Bearer(token);
    }

    /**
     * RFC 6750's b64token ({@code 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="}), checked by hand:
     * the regular expression it replaces was 6% of a JWT-authenticated request's CPU (loadtest/ANALYSIS.md).
     */
    static boolean token68(String token) {
        int n = token.length();
        int i = 0;
        while (i < n && tokenChar(token.charAt(i))) {
            i++;
        }
        if (i == 0) {
            return false;
        }
        while (i < n && token.charAt(i) == '=') {
            i++;
        }
        return i == n;
    }

    private static boolean tokenChar(char c) {
        return c < 128 && TOKEN_CHARS[c];
    }

    /** A table, not a chain of comparisons: a JWT is hundreds of characters, checked on every request. */
    private static final boolean[] TOKEN_CHARS = new boolean[128];

    static {
        for (char c = 0; c < 128; c++) {
            TOKEN_CHARS[c] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
        }
    }

    static Credentials from(Headers headers) {
        List<String> values = headers.all("Authorization");
        if (values.isEmpty()) {
            return new None();
        }
        if (values.size() > 1) {
            return new Malformed("more than one Authorization header");
        }
        String value = values.get(0).trim();
        int space = value.indexOf(' ');
        String scheme = space < 0 ? value : value.substring(0, space);
        if (!scheme.equalsIgnoreCase("Bearer")) {
            return new OtherScheme();
        }
        String token = space < 0 ? "" : value.substring(space + 1).trim();
        if (!token68(token)) {
            return new Malformed("the Authorization header does not hold a bearer token");
        }
        return new Bearer(token);
    }
}
