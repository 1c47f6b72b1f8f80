package dev.sidegate.proxy;

import java.util.Locale;
import java.util.Set;

/**
 * Connection-specific header fields (RFC 9110 section 7.6.1), which a proxy consumes instead of forwarding:
 * the fixed set plus every field named in {@code Connection}.
 */
public final class HopByHop {
    private static final Set<String> ALWAYS = Set.of(
            "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
            "proxy-authenticate", "proxy-authorization");

    private HopByHop() {
    }

    /** Lower-case names to drop: the fixed set plus the tokens of the given Connection field values. */
    public static Set<String> namesToDrop(Iterable<String> connectionValues) {
        Set<String> extra = null;
        for (String value : connectionValues) {
            for (String token : value.split(",")) {
                String t = token.trim().toLowerCase(Locale.ROOT);
                if (!t.isEmpty() && !ALWAYS.contains(t)) {
                    if (extra == null) {
                        extra = new java.util.HashSet<>(ALWAYS);
                    }
                    extra.add(t);
                }
            }
        }
        return extra == null ? ALWAYS : extra;
    }
}
