package dev.sidegate.assembly;

import java.net.URI;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.sidegate.config.Cidr;
import dev.sidegate.config.ConfigException;
import dev.sidegate.config.ConfigView;
import dev.sidegate.config.Durations;
import dev.sidegate.config.Env;
import dev.sidegate.config.Messages;
import dev.sidegate.config.Secret;
import dev.sidegate.config.ServerSettings;
import dev.sidegate.auth.AuthSettings;
import dev.sidegate.ratelimit.RateLimitSettings;
import dev.sidegate.resilience.UpstreamSettings;
import dev.sidegate.telemetry.AccessLogSettings;

/**
 * The whole effective configuration: environment variables over the YAML file over defaults, validated.
 *
 * @param server          listener settings (startup only)
 * @param defaultUpstream {@code SIDEGATE_UPSTREAM}, used by routes without their own upstream
 * @param routes          routes in file order; one catch-all route to the default upstream when the file has none
 * @param routesDeclared  whether the file has a {@code routes} section (then an unmatched path is a 404)
 * @param upstreams       every upstream the routes use, by name, with its protection settings
 * @param auth            JWT authentication, when a key source is configured
 * @param rateLimits      rate limits, when {@code rate_limits} is configured
 * @param accessLog       the {@code access_log} section
 * @param otelEnvironment the {@code OTEL_*} environment variables, for the OpenTelemetry SDK (startup only)
 * @param watchFile       {@code SIDEGATE_CONFIG_WATCH}: reload when the file changes (startup only)
 * @param pluginsDir      {@code SIDEGATE_PLUGINS_DIR}: where plugin jars are loaded from (startup only)
 * @param source          where this configuration came from
 */
public record SidegateConfig(ServerSettings server,
                             URI defaultUpstream,
                             List<RouteSettings> routes,
                             boolean routesDeclared,
                             Map<String, UpstreamSettings> upstreams,
                             Optional<AuthSettings> auth,
                             Optional<RateLimitSettings> rateLimits,
                             AccessLogSettings accessLog,
                             Map<String, String> otelEnvironment,
                             boolean watchFile,
                             Optional<Path> pluginsDir,
                             Source source) {

    public SidegateConfig {
        routes = List.copyOf(routes);
        upstreams = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(upstreams));
        otelEnvironment = Map.copyOf(otelEnvironment);
    }

    /** The same configuration with other listener settings (a reload keeps the startup ones). */
    public SidegateConfig withServer(ServerSettings startupServer) {
        return new SidegateConfig(startupServer, defaultUpstream, routes, routesDeclared, upstreams, auth, rateLimits,
                                  accessLog, otelEnvironment, watchFile, pluginsDir, source);
    }

    /**
     * @param file     the YAML file, if any
     * @param version  a short hash of the file's bytes ("none" without a file)
     * @param loadedAt when it was loaded
     */
    public record Source(Optional<Path> file, String version, Instant loadedAt) {
    }
}
