package dev.sidegate.proxy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import dev.sidegate.config.ConfigException;
import dev.sidegate.config.ServerSettings.PathPolicy;

/**
 * Longest path-prefix match on whole segments: {@code /api/v1/orders} matches {@code /api/v1/orders} and
 * {@code /api/v1/orders/7}, never {@code /api/v1/ordersX}. Among routes with the same prefix, the one that
 * accepts the method wins; when a prefix matches but no route there accepts the method, the answer is 405.
 */
public final class RouteTable {
    private final List<Route> byLengthDescending;

    private RouteTable(List<Route> routes) {
        this.byLengthDescending = routes;
    }

    /**
     * Validates route paths (they must already be in normalised form) and overlaps; errors name the route by its
     * position in the file ({@code routes[i]}).
     */
    public static RouteTable create(List<Route> inFileOrder, PathPolicy policy) {
        PathNormalizer normalizer = new PathNormalizer(policy);
        List<Route> routes = new ArrayList<>();
        for (int i = 0; i < inFileOrder.size(); i++) {
            Route s = inFileOrder.get(i);
            String key = "routes[" + i + "].path";
            if (s.id().contains("?") || s.id().contains("#")) {
                throw new ConfigException(key, "a route path must not contain '?' or '#', got '" + s.id() + "'");
            }
            PathNormalizer.Result result = normalizer.normalize(s.id());
            switch (result) {
                case PathNormalizer.Rejected r -> throw new ConfigException(key, r.reason() + ": '" + s.id() + "'");
                case PathNormalizer.Normalized n -> {
                    String expected = stripTrailingSlash(n.path());
                    if (!expected.equals(s.id())) {
                        throw new ConfigException(key, "write the path in normalised form '" + expected
                                + "' (no trailing slash, dot segments, duplicate slashes or needless escapes), got '"
                                + s.id() + "'");
                    }
                }
            }
            for (int j = 0; j < i; j++) {
                Route other = inFileOrder.get(j);
                if (other.id().equals(s.id()) && overlaps(other.methods(), s.methods())) {
                    throw new ConfigException("routes[" + i + "]", "same path '" + s.id() + "' and methods as routes["
                            + j + "]; give each route for a path distinct methods");
                }
            }
            routes.add(s);
        }
        // Stable sort: among equal prefixes, file order decides.
        routes.sort(Comparator.comparingInt((Route r) -> r.id().length()).reversed());
        return new RouteTable(List.copyOf(routes));
    }

    public List<Route> routes() {
        return byLengthDescending;
    }

    /** The outcome of matching a request to a route. */
    public sealed interface Match permits Matched, NotFound, MethodNotAllowed {
    }

    public record Matched(Route route) implements Match {
    }

    public record NotFound() implements Match {
    }

    public record MethodNotAllowed(Set<String> allowed) implements Match {
    }

    /** Matches a normalised path. */
    public Match match(String method, String path) {
        Set<String> allowed = null;
        String matchedPrefix = null;
        for (Route route : byLengthDescending) {
            String prefix = route.id();
            if (matchedPrefix != null && !matchedPrefix.equals(prefix)) {
                break; // a longer prefix matched, but not for this method
            }
            if (!route.covers(path)) {
                continue;
            }
            if (route.allows(method)) {
                return new Matched(route);
            }
            matchedPrefix = prefix;
            if (allowed == null) {
                allowed = new TreeSet<>();
            }
            allowed.addAll(route.methods());
        }
        return allowed == null ? new NotFound() : new MethodNotAllowed(allowed);
    }

    /**
     * The route that answers a CORS preflight asking about {@code askedMethod}: the one the real request would take
     * if it answers preflights, else one for the same (longest) prefix that does; empty when no route of that prefix
     * answers preflights (the OPTIONS is then an ordinary request).
     */
    public Optional<Route> matchPreflight(String askedMethod, String path) {
        if (match(askedMethod, path) instanceof Matched m && m.route().answersPreflight()) {
            return Optional.of(m.route());
        }
        String matchedPrefix = null;
        for (Route route : byLengthDescending) {
            if (matchedPrefix != null && !matchedPrefix.equals(route.id())) {
                break;
            }
            if (route.covers(path)) {
                matchedPrefix = route.id();
                if (route.answersPreflight()) {
                    return Optional.of(route);
                }
            }
        }
        return Optional.empty();
    }

    /** Whether the path equals the prefix or lies below it on whole segments. */
    public static boolean covers(String prefix, String path) {
        return covers(prefix, path, true);
    }

    /** The same, optionally ignoring ASCII case (for upstreams that fold case). */
    public static boolean covers(String prefix, String path, boolean caseSensitive) {
        if (prefix.equals("/")) {
            return true;
        }
        return path.regionMatches(!caseSensitive, 0, prefix, 0, prefix.length())
                && (path.length() == prefix.length() || path.charAt(prefix.length()) == '/');
    }

    private static boolean overlaps(Set<String> a, Set<String> b) {
        if (a.isEmpty() || b.isEmpty()) {
            return true;
        }
        for (String m : a) {
            if (b.contains(m)) {
                return true;
            }
        }
        return false;
    }

    private static String stripTrailingSlash(String path) {
        return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    }
}
