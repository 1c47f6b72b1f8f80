package dev.sidegate.cors;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

import dev.sidegate.config.ConfigView;
import dev.sidegate.config.HeaderFieldNames;

/**
 * Which browsers' cross-origin requests a route accepts ({@code cors} section, at the top level as the default and
 * per route). Validated once: a malformed origin, {@code *} with credentials, or an unknown key fails the load.
 *
 * @param origins        allowed origins: exact ({@code https://app.example.com}) or with a wildcard for one or more
 *                       leading labels ({@code https://*.example.com}); empty when {@code anyOrigin}
 * @param anyOrigin      {@code allowed_origins: ["*"]}
 * @param methods        methods a preflight may ask for (upper case)
 * @param headers        request headers a preflight may ask for (lower case); ignored when {@code anyHeader}
 * @param anyHeader      {@code allowed_headers: ["*"]}: every requested header is allowed (and echoed back)
 * @param exposedHeaders response headers a page's script may read beyond the safelisted ones
 * @param credentials    whether cookies and Authorization may be sent ({@code Access-Control-Allow-Credentials})
 * @param maxAge         how long a browser may cache a preflight's answer
 */
public record CorsSettings(List<OriginPattern> origins, boolean anyOrigin, Set<String> methods, Set<String> headers,
                           boolean anyHeader, List<String> exposedHeaders, boolean credentials, Duration maxAge) {
    static final Duration DEFAULT_MAX_AGE = Duration.ofMinutes(10);
    static final List<String> DEFAULT_METHODS = List.of("GET", "HEAD", "POST");
    private static final Pattern METHOD = Pattern.compile("[A-Z][A-Z0-9_-]*");
    private static final Pattern ORIGIN = Pattern.compile(
            "(https?)://((?:\\*\\.)?(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\\.)*[a-z0-9](?:[a-z0-9-]*[a-z0-9])?|\\[[0-9a-f:.]+\\])(:[0-9]{1,5})?");

    public CorsSettings {
        origins = List.copyOf(origins);
        methods = java.util.Collections.unmodifiableSet(new LinkedHashSet<>(methods));
        headers = java.util.Collections.unmodifiableSet(new LinkedHashSet<>(headers));
        exposedHeaders = List.copyOf(exposedHeaders);
    }

    /** One entry of {@code allowed_origins}, lower case, with an optional leading {@code *.} in its host. */
    public record OriginPattern(String scheme, String hostSuffix, boolean wildcard, String port) {
        private static final Pattern LABELS = Pattern.compile("(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?");

        boolean matches(String origin) {
            String prefix = scheme + "://";
            if (!origin.startsWith(prefix) || !origin.endsWith(port)) {
                return false;
            }
            String host = origin.substring(prefix.length(), origin.length() - port.length());
            if (host.contains(":") && !host.startsWith("[")) {
                return false; // a port this pattern does not name
            }
            if (!wildcard) {
                return host.equals(hostSuffix);
            }
            return host.length() > hostSuffix.length() + 1 && host.endsWith("." + hostSuffix) && LABELS.matcher(host).matches();
        }

        @Override
        public String toString() {
            return scheme + "://" + (wildcard ? "*." : "") + hostSuffix + port;
        }
    }

    /** Whether a browser's {@code Origin} (already lower case) is allowed. */
    public boolean allows(String origin) {
        if (anyOrigin) {
            return true;
        }
        for (OriginPattern p : origins) {
            if (p.matches(origin)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The route's policy: its own {@code cors} section, {@code cors: off} for none, or the default when it has no
     * {@code cors} key.
     */
    public static Optional<CorsSettings> forRoute(ConfigView route, Optional<CorsSettings> defaults) {
        ConfigView v = route.get("cors");
        if (!v.exists()) {
            return defaults;
        }
        if (v.isValue()) {
            String value = v.string().orElse("");
            if (value.equals("off")) {
                return Optional.empty();
            }
            throw v.invalid("expected a cors section, or 'off' for none on this route, got '" + value + "'");
        }
        return Optional.of(parse(v));
    }

    /** The top-level default, applied to every route that has no {@code cors} key of its own. */
    public static Optional<CorsSettings> parseDefault(ConfigView root) {
        ConfigView v = root.get("cors");
        if (!v.exists()) {
            return Optional.empty();
        }
        if (v.isValue()) {
            throw v.invalid("expected a section with allowed_origins, got '" + v.string().orElse("") + "'");
        }
        return Optional.of(parse(v));
    }

    static CorsSettings parse(ConfigView s) {
        List<String> originList = s.strings("allowed_origins");
        if (originList.isEmpty()) {
            throw s.get("allowed_origins").invalid("list the origins allowed (https://app.example.com, https://*.example.com, or '*')");
        }
        boolean anyOrigin = false;
        List<OriginPattern> origins = new ArrayList<>();
        for (int i = 0; i < originList.size(); i++) {
            String raw = originList.get(i);
            ConfigView item = s.get("allowed_origins");
            String key = item.key() + "[" + i + "]";
            if (raw.equals("*")) {
                anyOrigin = true;
                continue;
            }
            origins.add(origin(key, raw));
        }
        if (anyOrigin && !origins.isEmpty()) {
            throw s.get("allowed_origins").invalid("'*' allows every origin; list origins or '*', not both");
        }
        boolean credentials = s.bool("allow_credentials").orElse(false);
        if (credentials && anyOrigin) {
            throw s.get("allow_credentials").invalid("cannot be true with allowed_origins '*' (browsers refuse "
                    + "credentials for any origin); list the origins");
        }

        List<String> methodList = s.get("allowed_methods").exists() ? s.strings("allowed_methods") : DEFAULT_METHODS;
        Set<String> methods = new LinkedHashSet<>();
        for (int i = 0; i < methodList.size(); i++) {
            String m = methodList.get(i);
            if (!METHOD.matcher(m).matches()) {
                throw new dev.sidegate.config.ConfigException(s.get("allowed_methods").key() + "[" + i + "]",
                        "expected an upper-case method such as GET or PUT, got '" + m + "'");
            }
            methods.add(m);
        }

        boolean anyHeader = false;
        Set<String> headers = new LinkedHashSet<>();
        List<String> headerList = s.strings("allowed_headers");
        for (int i = 0; i < headerList.size(); i++) {
            String h = headerList.get(i);
            if (h.equals("*")) {
                anyHeader = true;
            } else {
                headers.add(headerName(s.get("allowed_headers").key() + "[" + i + "]", h).toLowerCase(Locale.ROOT));
            }
        }
        List<String> exposed = new ArrayList<>();
        List<String> exposedList = s.strings("exposed_headers");
        for (int i = 0; i < exposedList.size(); i++) {
            exposed.add(headerName(s.get("exposed_headers").key() + "[" + i + "]", exposedList.get(i)));
        }

        Duration maxAge = s.duration("max_age").orElse(DEFAULT_MAX_AGE);
        if (maxAge.isNegative() || maxAge.compareTo(Duration.ofHours(24)) > 0 || maxAge.toMillis() % 1000 != 0) {
            throw s.get("max_age").invalid("expected whole seconds from 0s to 24h, got '" + s.string("max_age").orElse("") + "'");
        }
        return new CorsSettings(origins, anyOrigin, methods, headers, anyHeader, exposed, credentials, maxAge);
    }

    /**
     * A list of origins in {@code allowed_origins}' syntax without {@code *} (exact, or a leading {@code *.} in the
     * host), such as a WebSocket route's {@code websocket_origins}.
     */
    public static List<OriginPattern> originList(ConfigView parent, String name) {
        List<String> raw = parent.strings(name);
        List<OriginPattern> origins = new ArrayList<>();
        for (int i = 0; i < raw.size(); i++) {
            String key = parent.get(name).key() + "[" + i + "]";
            if (raw.get(i).equals("*")) {
                throw new dev.sidegate.config.ConfigException(key, "'*' would allow every origin; list the origins, or leave the key out");
            }
            origins.add(origin(key, raw.get(i)));
        }
        return origins;
    }

    /** Whether a browser's {@code Origin} (any case) matches one of the patterns. */
    public static boolean matchesAny(List<OriginPattern> patterns, String origin) {
        String lower = origin.trim().toLowerCase(Locale.ROOT);
        for (OriginPattern p : patterns) {
            if (p.matches(lower)) {
                return true;
            }
        }
        return false;
    }

    private static OriginPattern origin(String key, String raw) {
        if (raw.equalsIgnoreCase("null")) {
            throw new dev.sidegate.config.ConfigException(key, "the 'null' origin (sandboxed frames, file: pages, some "
                    + "redirects) is shared by any page that wants it; it cannot be allowed");
        }
        String lower = raw.toLowerCase(Locale.ROOT);
        var m = ORIGIN.matcher(lower);
        if (!m.matches()) {
            throw new dev.sidegate.config.ConfigException(key, "expected an origin such as https://app.example.com or "
                    + "https://*.example.com (scheme, host, optional port; no path), got '" + raw + "'");
        }
        String host = m.group(2);
        boolean wildcard = host.startsWith("*.");
        return new OriginPattern(m.group(1), wildcard ? host.substring(2) : host, wildcard, m.group(3) == null ? "" : m.group(3));
    }

    private static String headerName(String key, String name) {
        if (!HeaderFieldNames.valid(name)) {
            throw new dev.sidegate.config.ConfigException(key, "not a header name: '" + name + "'");
        }
        return name;
    }
}
