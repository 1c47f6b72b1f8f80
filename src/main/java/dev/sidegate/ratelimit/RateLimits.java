package dev.sidegate.ratelimit;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;

import dev.sidegate.config.ConfigException;
import dev.sidegate.config.ServerSettings;
import dev.sidegate.proxy.PathNormalizer;
import dev.sidegate.proxy.ReadinessCheck;
import dev.sidegate.proxy.Resources;
import dev.sidegate.proxy.RouteTable;
import dev.sidegate.proxy.Stage;
import dev.sidegate.telemetry.SidegateMetrics;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;

/**
 * Rate limiting for one configuration: the limiter (Redis-backed with its failure policy, or in process) and the
 * validated route limits. The assembly asks it for each route's stage, which knows only the route limits that can
 * apply under that route.
 */
public final class RateLimits {
    private static final System.Logger LOG = System.getLogger(RateLimits.class.getName());

    private final RateLimitSettings settings;
    private final List<Map.Entry<String, Limit>> routeLimitsLongestFirst;
    private final RateLimiter limiter;
    private final FailoverRateLimiter failover;
    private final SidegateMetrics metrics;
    private final ClientKeys clientKeys = new ClientKeys();

    private RateLimits(RateLimitSettings settings, List<Map.Entry<String, Limit>> routeLimits, RateLimiter limiter,
                       FailoverRateLimiter failover, SidegateMetrics metrics) {
        this.settings = settings;
        this.routeLimitsLongestFirst = routeLimits;
        this.limiter = limiter;
        this.failover = failover;
        this.metrics = metrics;
    }

    /**
     * @param parts    where the Redis connection, its breaker and the in-process buckets live, so that a reload with
     *                 the same settings keeps them (and the bucket counts)
     * @param breakers the registry the Redis breaker joins once live
     * @param timers   the in-process buckets' housekeeping
     */
    public static RateLimits create(RateLimitSettings settings, ServerSettings.PathPolicy paths, Resources.Build parts,
                                    SidegateMetrics metrics, CircuitBreakerRegistry breakers, ScheduledExecutorService timers) {
        List<Map.Entry<String, Limit>> routeLimits = validatedRoutes(settings.routes(), paths);
        if (settings.redis().isPresent()) {
            RedisSettings redis = settings.redis().get();
            // A standalone Redis is called on the request's own thread; Sentinel and Cluster through Lettuce.
            ScriptCalls connector = parts.get(redis, () -> RedisEndpoint.standalone(redis)
                    ? new RespConnections(redis, timers) : new RedisConnector(redis));
            FailoverRateLimiter failover = parts.get(new FailoverKey(redis, settings.onRedisFailure(), settings.localShare()),
                    () -> new FailoverRateLimiter(new RedisRateLimiter(connector, metrics), settings.onRedisFailure(),
                                                  settings.localShare(), redis.timeout(), breakers, timers));
            return new RateLimits(settings, routeLimits, new DenyCache(failover), failover, metrics);
        }
        LocalRateLimiter local = parts.get(LocalRateLimiter.class, () -> new LocalRateLimiter(1, timers));
        return new RateLimits(settings, routeLimits, new DenyCache(local), null, metrics);
    }

    /** Says once, when this configuration goes live, what the per-instance fallback means. */
    public void activate() {
        if (failover == null) {
            LOG.log(System.Logger.Level.WARNING, "rate limits are per instance, not shared: set "
                    + RateLimitSettings.ENV_REDIS_URL + " so that every instance enforces the same limits");
        }
        metrics.redisDegraded(failover == null ? () -> false : failover::degraded);
    }

    private static List<Map.Entry<String, Limit>> validatedRoutes(Map<String, Limit> routes, ServerSettings.PathPolicy paths) {
        PathNormalizer normalizer = new PathNormalizer(paths);
        List<Map.Entry<String, Limit>> list = new ArrayList<>();
        for (Map.Entry<String, Limit> e : routes.entrySet()) {
            String prefix = e.getKey();
            String key = "rate_limits.routes." + prefix;
            if (!(normalizer.normalize(prefix) instanceof PathNormalizer.Normalized n)
                    || !(n.path().equals(prefix) && (prefix.equals("/") || !prefix.endsWith("/")))) {
                throw new ConfigException(key, "a route limit is a path prefix in normalised form, like /api/v1/search");
            }
            list.add(e);
        }
        list.sort(Comparator.comparingInt((Map.Entry<String, Limit> e) -> e.getKey().length()).reversed());
        return List.copyOf(list);
    }

    /** The stage for a route: its tier limits, and the route limits whose prefix overlaps the route's. */
    public Stage stageFor(String routePrefix, boolean caseSensitive) {
        List<Map.Entry<String, Limit>> candidates = new ArrayList<>();
        for (Map.Entry<String, Limit> e : routeLimitsLongestFirst) {
            if (RouteTable.covers(e.getKey(), routePrefix, caseSensitive) || RouteTable.covers(routePrefix, e.getKey(), caseSensitive)) {
                candidates.add(e);
            }
        }
        return new RateLimitStage(settings, candidates, limiter, clientKeys, caseSensitive, metrics);
    }

    /** Always ready: the failure policy answers while Redis is away; the detail says how Redis is. */
    public ReadinessCheck readiness() {
        return () -> new ReadinessCheck.Status("rate_limits", true, failover == null ? "local only (no Redis)" : failover.state());
    }

    /** The key of the shared limiter and its breaker: same Redis, policy and share, same state. */
    private record FailoverKey(RedisSettings redis, FailureMode mode, long share) {
    }
}
