package dev.sidegate.auth;

import java.util.List;
import java.util.regex.Pattern;

import dev.sidegate.proxy.Headers;

/** RFC 6750 section 2.1: the bearer token of the {@code Authorization} header, if that is what the client sent. */
final class BearerToken {
    private static final Pattern TOKEN68 = Pattern.compile("[A-Za-z0-9\\-._~+/]+=*");

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
        if (token.isEmpty() || !TOKEN68.matcher(token).matches()) {
            return new Malformed("the Authorization header does not hold a bearer token");
        }
        return new Bearer(token);
    }
}
