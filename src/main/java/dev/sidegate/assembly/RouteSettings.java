package dev.sidegate.assembly;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import dev.sidegate.config.Cidr;
import dev.sidegate.cors.CorsSettings;
import dev.sidegate.config.ConfigException;
import dev.sidegate.config.ConfigView;
import dev.sidegate.config.Durations;
import dev.sidegate.config.Env;
import dev.sidegate.config.Messages;
import dev.sidegate.config.Secret;
import dev.sidegate.config.ServerSettings;
import dev.sidegate.plugin.PluginSpec;
import dev.sidegate.resilience.RetrySettings;
import dev.sidegate.transform.TransformSettings;

/**
 * One entry of {@code routes}: requests whose normalised path is {@code path} or lies below it (whole segments)
 * go to {@code upstream}.
 *
 * @param path          normalised path prefix, "/" for all
 * @param methods       upper-case methods this route accepts; empty for all but TRACE (which echoes headers back)
 * @param upstream      base URL of the upstream (scheme, host, port)
 * @param upstreamName  the upstream's name: its circuit breaker and concurrency limit are kept per name
 * @param timeout       how long to wait for the upstream's response headers, and between two reads of its body
 * @param connectTimeout how long to wait for a connection to the upstream
 * @param totalTimeout  retries never start once this much time has passed since the first attempt
 * @param retry         when a failed upstream call is tried again
 * @param publicRoute   whether the route is reachable without a token when auth is configured
 * @param permission    permission a token must carry for this route, when auth is configured
 * @param permissionAudit audit mode: a token without the permission is admitted, and counted and logged as denied
 * @param preserveHost  forward the client's Host header instead of the upstream's authority
 * @param transform     declarative request and response transforms
 * @param plugins       plugins enabled on this route, in order
 * @param caseSensitive whether the path prefix matches case-sensitively (false for upstreams that fold case)
 * @param cors          the route's CORS policy (its own, or the top-level default); empty for none
 * @param websocket     present when the route takes WebSocket handshakes
 */
public record RouteSettings(String path,
                            Set<String> methods,
                            URI upstream,
                            String upstreamName,
                            Duration timeout,
                            Duration connectTimeout,
                            Duration totalTimeout,
                            RetrySettings retry,
                            boolean publicRoute,
                            Optional<String> permission,
                            boolean permissionAudit,
                            boolean preserveHost,
                            Optional<TransformSettings> transform,
                            List<PluginSpec> plugins,
                            boolean caseSensitive,
                            Optional<CorsSettings> cors,
                            Optional<WebSocket> websocket) {

    /**
     * @param idleTimeout a tunnel that carries nothing either way this long is closed
     * @param origins     browsers' origins allowed to open a tunnel; empty: any (non-browser clients send none)
     */
    public record WebSocket(Duration idleTimeout, List<CorsSettings.OriginPattern> origins) {
        public WebSocket {
            origins = List.copyOf(origins);
        }
    }

    public RouteSettings {
        methods = Set.copyOf(methods);
        plugins = List.copyOf(plugins);
    }

    /** A route with only a path, methods and upstream settings: no auth requirements, transforms or plugins. */
    public static RouteSettings plain(String path, Set<String> methods, URI upstream, String upstreamName, Duration timeout,
                                      Duration connectTimeout, Duration totalTimeout, RetrySettings retry) {
        return new RouteSettings(path, methods, upstream, upstreamName, timeout, connectTimeout, totalTimeout, retry, false,
                                 Optional.empty(), false, false, Optional.empty(), List.of(), true, Optional.empty(), Optional.empty());
    }

    /** The same route with another CORS policy. */
    public RouteSettings withCors(Optional<CorsSettings> policy) {
        return new RouteSettings(path, methods, upstream, upstreamName, timeout, connectTimeout, totalTimeout, retry, publicRoute,
                                 permission, permissionAudit, preserveHost, transform, plugins, caseSensitive, policy,
                                 websocket);
    }

    /** Whether this route's prefix covers the path (equal, or below it on whole segments). */
    public boolean covers(String requestPath) {
        return dev.sidegate.proxy.RouteTable.covers(path, requestPath, caseSensitive);
    }

    public boolean allows(String method) {
        return methods.isEmpty() ? !method.equals("TRACE") && !method.equals("CONNECT") : methods.contains(method);
    }
}
