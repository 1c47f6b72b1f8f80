package dev.sidegate.config;

import java.util.regex.Pattern;

/** Header names in configuration: an RFC 9110 token, the one check every key that names a header makes. */
public final class HeaderFieldNames {
    private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

    private HeaderFieldNames() {
    }

    public static boolean valid(String name) {
        return TOKEN.matcher(name).matches();
    }
}
