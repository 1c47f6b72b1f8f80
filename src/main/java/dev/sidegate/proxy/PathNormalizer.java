package dev.sidegate.proxy;

import java.util.ArrayList;
import java.util.List;

import dev.sidegate.config.ServerSettings.PathPolicy;

/**
 * Puts a request path into the one form that routing, authorisation and the upstream all see, so that no two
 * spellings of a path can be routed or authorised differently (RFC 3986 section 6.2.2).
 *
 * <ul>
 *   <li>percent-encoded unreserved characters are decoded ({@code %2e} is {@code .}, {@code %61} is {@code a});
 *       other escapes stay encoded, with upper-case hex digits;</li>
 *   <li>{@code .} and {@code ..} segments are resolved, duplicate slashes collapsed;</li>
 *   <li>refused: invalid percent-encoding, control characters (raw or encoded), characters RFC 3986 does not
 *       allow unencoded in a path, {@code ..} above the root, and unless the policy keeps them, encoded slashes or
 *       backslashes and raw semicolons.</li>
 * </ul>
 */
public final class PathNormalizer {
    private final PathPolicy policy;

    public PathNormalizer(PathPolicy policy) {
        this.policy = policy;
    }

    /** The outcome of normalising one path. */
    public sealed interface Result permits Normalized, Rejected {
    }

    public record Normalized(String path) implements Result {
    }

    public record Rejected(String reason) implements Result {
    }

    public Result normalize(String rawPath) {
        if (rawPath.isEmpty() || rawPath.charAt(0) != '/') {
            return new Rejected("the request target must be a path starting with '/'");
        }
        StringBuilder decoded = null;
        int length = rawPath.length();
        for (int i = 0; i < length; i++) {
            char c = rawPath.charAt(i);
            if (c < 0x21 || c > 0x7E) {
                return new Rejected("the path contains a control, space or non-ASCII character");
            }
            if (c == '\\') {
                if (policy.rejectEncodedSlashes()) {
                    return new Rejected("the path contains a backslash");
                }
            } else if (!allowedInPath(c)) {
                return new Rejected("the path contains '" + c + "', which must be percent-encoded");
            } else if (c == ';' && policy.rejectSemicolons()) {
                return new Rejected("the path contains ';' (path parameters are not accepted)");
            } else if (c == '%') {
                if (i + 2 >= length || hex(rawPath.charAt(i + 1)) < 0 || hex(rawPath.charAt(i + 2)) < 0) {
                    return new Rejected("the path contains invalid percent-encoding");
                }
                int value = hex(rawPath.charAt(i + 1)) * 16 + hex(rawPath.charAt(i + 2));
                if (value < 0x20 || value == 0x7F) {
                    return new Rejected("the path contains an encoded control character");
                }
                if ((value == '/' || value == '\\') && policy.rejectEncodedSlashes()) {
                    return new Rejected("the path contains an encoded slash or backslash");
                }
                if (decoded == null) {
                    decoded = new StringBuilder(length).append(rawPath, 0, i);
                }
                if (unreserved(value)) {
                    decoded.append((char) value);
                } else {
                    decoded.append('%').append(upperHex(value >> 4)).append(upperHex(value & 0xF));
                }
                i += 2;
                continue;
            }
            if (decoded != null) {
                decoded.append(c);
            }
        }
        String path = decoded == null ? rawPath : decoded.toString();
        return needsSegmentWork(path) ? resolveSegments(path) : new Normalized(path);
    }

    private static boolean needsSegmentWork(String path) {
        return path.contains("//") || path.contains("/./") || path.contains("/../")
                || path.endsWith("/.") || path.endsWith("/..");
    }

    private static Result resolveSegments(String path) {
        List<String> out = new ArrayList<>();
        String[] segments = path.substring(1).split("/", -1);
        boolean trailingSlash = false;
        for (String segment : segments) {
            trailingSlash = false;
            switch (segment) {
                case "", "." -> trailingSlash = true;
                case ".." -> {
                    if (out.isEmpty()) {
                        return new Rejected("the path goes above the root with '..'");
                    }
                    out.remove(out.size() - 1);
                    trailingSlash = true;
                }
                default -> out.add(segment);
            }
        }
        StringBuilder sb = new StringBuilder(path.length());
        for (String segment : out) {
            sb.append('/').append(segment);
        }
        if (out.isEmpty() || trailingSlash) {
            sb.append('/');
        }
        return new Normalized(sb.toString());
    }

    // RFC 3986 pchar, plus '/' and '%' (checked separately) and '\\' (left to the policy)
    private static boolean allowedInPath(char c) {
        return unreserved(c) || "!$&'()*+,;=:@/%\\".indexOf(c) >= 0;
    }

    private static boolean unreserved(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '-' || c == '.' || c == '_' || c == '~';
    }

    private static int hex(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    private static char upperHex(int nibble) {
        return "0123456789ABCDEF".charAt(nibble);
    }
}
