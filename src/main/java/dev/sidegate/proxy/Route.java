package dev.sidegate.proxy;

import java.util.Set;

/**
 * A route as the core sees it: where it matches and which upstream it goes to. Everything else a route configures
 * (auth, limits, transforms, timeouts) lives in the stages built for it.
 *
 * @param id            the route's path prefix in normalised form; also its name in logs, metrics and problems
 * @param methods       upper-case methods it accepts; empty for all but TRACE and CONNECT
 * @param upstream      the name of its upstream
 * @param caseSensitive whether the prefix matches case-sensitively
 * @param answersPreflight whether a stage of the route answers CORS preflights itself: a preflight is then matched by
 *                      the method it asks about, whatever {@code methods} says of OPTIONS
 * @param websocketIdleTimeout present when the route accepts WebSocket handshakes: how long an open tunnel may carry
 *                      no byte either way before it is closed
 */
public record Route(String id, Set<String> methods, String upstream, boolean caseSensitive, boolean answersPreflight,
                    java.util.Optional<java.time.Duration> websocketIdleTimeout) {

    public Route {
        methods = Set.copyOf(methods);
    }

    /** A route that leaves preflights to its upstream and takes no WebSocket handshakes. */
    public Route(String id, Set<String> methods, String upstream, boolean caseSensitive) {
        this(id, methods, upstream, caseSensitive, false, java.util.Optional.empty());
    }

    /** Whether the prefix covers the path: equal, or below it on whole segments. */
    public boolean covers(String path) {
        return RouteTable.covers(id, path, caseSensitive);
    }

    public boolean allows(String method) {
        return methods.isEmpty() ? !method.equals("TRACE") && !method.equals("CONNECT") : methods.contains(method);
    }
}
