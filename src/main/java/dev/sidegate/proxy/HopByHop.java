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

    /** Whether the name is one of the fixed connection-specific fields, in any case; allocates nothing. */
    public static boolean isFixed(String name) {
        return switch (name.length()) {
            case 2 -> name.equalsIgnoreCase("te");
            case 7 -> name.equalsIgnoreCase("trailer") || name.equalsIgnoreCase("upgrade");
            case 10 -> name.equalsIgnoreCase("connection") || name.equalsIgnoreCase("keep-alive");
            case 16 -> name.equalsIgnoreCase("proxy-connection");
            case 17 -> name.equalsIgnoreCase("transfer-encoding");
            case 18 -> name.equalsIgnoreCase("proxy-authenticate");
            case 19 -> name.equalsIgnoreCase("proxy-authorization");
            default -> false;
        };
    }

    /** The lower-case names the Connection field values list beyond the fixed set; empty for almost every message. */
    public static Set<String> namedByConnection(Iterable<String> connectionValues) {
        Set<String> all = namesToDrop(connectionValues);
        if (all == ALWAYS) {
            return Set.of();
        }
        Set<String> extra = new java.util.HashSet<>(all);
        extra.removeAll(ALWAYS);
        return extra;
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
