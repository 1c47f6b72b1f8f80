package dev.sidegate.ratelimit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import dev.sidegate.config.ConfigException;
import dev.sidegate.config.ConfigView;
import dev.sidegate.config.Durations;
import dev.sidegate.config.Env;

/**
 * Rate limits: the seed's {@code rate_limits} section verbatim (client tiers, plus {@code routes} keyed by path
 * prefix) and how they are enforced ({@code rate_limiting}: Redis, failure policy, client keys, headers).
 *
 * @param tiers          limit per client tier; {@code default} applies to clients without a known tier
 * @param routes         limit per path prefix, per client, on top of the tier limit
 * @param redis          shared buckets; empty for in-process buckets only
 * @param onRedisFailure what to do while Redis cannot answer
 * @param localShare     the in-process fallback allows {@code requests / localShare} (the instances sharing a limit)
 * @param apiKeyHeader   header whose value keys anonymous clients instead of their IP
 * @param legacyHeaders  also send {@code X-RateLimit-Limit/-Remaining/-Reset}
 */
public record RateLimitSettings(Map<String, Limit> tiers,
                                Map<String, Limit> routes,
                                Optional<RedisSettings> redis,
                                FailureMode onRedisFailure,
                                long localShare,
                                Optional<String> apiKeyHeader,
                                boolean legacyHeaders) {

    public static final String ENV_REDIS_URL = "SIDEGATE_REDIS_URL";
    public static final String ENV_REDIS_CLUSTER = "SIDEGATE_REDIS_CLUSTER";
    public static final String ENV_REDIS_CA = "SIDEGATE_REDIS_CA";
    public static final String ENV_ON_REDIS_FAILURE = "SIDEGATE_RATE_LIMIT_ON_REDIS_FAILURE";
    public static final String DEFAULT_TIER = "default";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

    public RateLimitSettings {
        tiers = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(tiers));
        routes = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(routes));
    }

    /** Parses both sections; empty when {@code rate_limits} is absent (then nothing is limited). */
    public static Optional<RateLimitSettings> parse(ConfigView limits, ConfigView limiting, Env env) {
        Optional<List<String>> urls = env.over(ENV_REDIS_URL, RateLimitSettings::splitUrls,
                                               () -> limiting.get("redis").string("url").map(RateLimitSettings::splitUrls));
        ConfigView redis = limiting.get("redis");
        boolean clusterSwitch = env.over(ENV_REDIS_CLUSTER, v -> ConfigView.parseBoolean(ENV_REDIS_CLUSTER, v), () -> redis.bool("cluster"))
                .orElse(false);
        Duration timeout = redis.positiveDuration("timeout").orElse(Duration.ofMillis(50));
        Optional<Path> caFile = env.over(ENV_REDIS_CA, Path::of, () -> redis.string("ca_file").map(Path::of));
        if (caFile.isPresent()) {
            String caKey = env.get(ENV_REDIS_CA).isPresent() ? ENV_REDIS_CA : redis.get("ca_file").key();
            if (!Files.isReadable(caFile.get()) || Files.isDirectory(caFile.get())) {
                throw new ConfigException(caKey, "cannot read '" + caFile.get() + "'");
            }
            if (!holdsPemCertificate(caFile.get())) {
                throw new ConfigException(caKey, "'" + caFile.get() + "' holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
            }
            // A CA with a plain redis:// URL would suggest TLS where there is none.
            if (urls.orElse(List.of()).stream().noneMatch(u -> u.toLowerCase(Locale.ROOT).startsWith("rediss"))) {
                throw new ConfigException(caKey, "a CA file applies to rediss:// URLs only, and the Redis URL is "
                        + urls.map(u -> "not rediss://").orElse("not set"));
            }
        }
        String modeKey = env.get(ENV_ON_REDIS_FAILURE).isPresent() ? ENV_ON_REDIS_FAILURE : limiting.get("on_redis_failure").key();
        FailureMode mode = env.over(ENV_ON_REDIS_FAILURE, v -> mode(modeKey, v),
                                                        () -> limiting.string("on_redis_failure").map(v -> mode(modeKey, v)))
                .orElse(FailureMode.LOCAL);
        long share = limiting.integer("local_share", 1, 10_000).orElse(1L);
        Optional<String> apiKeyHeader = limiting.string("api_key_header");
        apiKeyHeader.ifPresent(h -> {
            if (!dev.sidegate.config.HeaderFieldNames.valid(h)) {
                throw limiting.get("api_key_header").invalid("not a valid header name: '" + h + "'");
            }
        });
        boolean legacy = limiting.bool("legacy_headers").orElse(false);
        for (String url : urls.orElse(List.of())) {
            String scheme = url.contains("://") ? url.substring(0, url.indexOf("://")).toLowerCase(Locale.ROOT) : "";
            String key = env.get(ENV_REDIS_URL).isPresent() ? ENV_REDIS_URL : redis.get("url").key();
            if (!List.of("redis", "rediss", "redis-sentinel", "rediss-sentinel").contains(scheme)) {
                throw new ConfigException(key, "expected redis://, rediss:// or redis-sentinel:// URLs, got '"
                        + RedisSettings.redact(url) + "'");
            }
            checkRedisUrl(key, url, scheme.endsWith("sentinel"));
        }

        if (!limits.exists()) {
            return Optional.empty();
        }
        Map<String, Limit> tiers = new LinkedHashMap<>();
        Map<String, Limit> routes = new LinkedHashMap<>();
        boolean enforceAll = limits.bool("enforce").orElse(true);
        for (Map.Entry<String, ConfigView> e : limits.children().entrySet()) {
            if (e.getKey().equals("enforce")) {
                continue; // read above: the default of every limit's own `enforce`
            }
            if (e.getKey().equals("routes")) {
                for (Map.Entry<String, ConfigView> r : e.getValue().children().entrySet()) {
                    routes.put(r.getKey(), limit(r.getValue(), enforceAll));
                }
            } else {
                if (!NAME.matcher(e.getKey()).matches()) {
                    throw e.getValue().invalid("a tier name may use letters, digits, '_', '.' and '-' only");
                }
                tiers.put(e.getKey(), limit(e.getValue(), enforceAll));
            }
        }
        if (!tiers.isEmpty() && !tiers.containsKey(DEFAULT_TIER)) {
            throw limits.invalid("tiers are defined but no 'default' tier, which clients without a known tier need");
        }
        Optional<RedisSettings> redisSettings = urls.map(u -> new RedisSettings(u, clusterSwitch || u.size() > 1, timeout, caFile));
        return Optional.of(new RateLimitSettings(tiers, routes, redisSettings, mode, share, apiKeyHeader, legacy));
    }

    /** A Redis URL Lettuce can use: a host, a port in range, a numeric database; Sentinel URLs name their master. */
    private static void checkRedisUrl(String key, String url, boolean sentinel) {
        String shown = RedisSettings.redact(url);
        if (!sentinel) {
            java.net.URI uri;
            try {
                uri = new java.net.URI(url);
            } catch (java.net.URISyntaxException e) {
                throw new ConfigException(key, "malformed Redis URL '" + shown + "': " + e.getReason());
            }
            if (uri.getHost() == null || uri.getHost().isEmpty()) {
                throw new ConfigException(key, "the Redis URL '" + shown + "' has no host (or a port that is not a number)");
            }
            if (uri.getPort() == 0 || uri.getPort() > 65535) {
                throw new ConfigException(key, "the Redis URL '" + shown + "' has a port out of range");
            }
            String path = uri.getRawPath() == null ? "" : uri.getRawPath();
            if (!path.isEmpty() && !path.matches("/\\d{0,4}")) {
                throw new ConfigException(key, "the Redis URL '" + shown + "' names a database that is not a number");
            }
            if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
                // Sidegate's own client reads host, port, user info and database only; a silently ignored option
                // (Lettuce's ?timeout=, ?database=) would be worse than an error.
                throw new ConfigException(key, "the Redis URL '" + shown + "' has a query or fragment; the Redis timeout is "
                        + "rate_limiting.redis.timeout and the database the URL's path (redis://host:6379/2)");
            }
        }
        try {
            io.lettuce.core.RedisURI.create(url);
        } catch (RuntimeException e) {
            throw new ConfigException(key, "malformed Redis URL '" + shown + "': "
                    + dev.sidegate.config.Messages.oneLine(e).replace(url, shown));
        }
    }

    private static Limit limit(ConfigView v, boolean enforceByDefault) {
        long requests = v.integer("requests", 1, 1_000_000_000L)
                .orElseThrow(() -> v.get("requests").invalid("required: a whole number of requests per window"));
        Duration window = v.duration("window").orElseThrow(() -> v.get("window").invalid("required, e.g. 60s"));
        if (window.isZero() || window.isNegative()) {
            throw v.get("window").invalid("must be greater than zero, got '" + Durations.format(window) + "'");
        }
        if (window.toMillis() % 1000 != 0) {
            throw v.get("window").invalid("must be whole seconds (RateLimit-Policy states it in seconds), got "
                    + Durations.format(window));
        }
        return new Limit(requests, window, v.bool("enforce").orElse(enforceByDefault));
    }

    private static boolean holdsPemCertificate(Path file) {
        try {
            return new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1).contains("-----BEGIN CERTIFICATE-----");
        } catch (IOException e) {
            return false;
        }
    }

    private static List<String> splitUrls(String value) {
        String trimmed = value.trim();
        if (trimmed.toLowerCase(Locale.ROOT).matches("rediss?-sentinel://.*")) {
            return List.of(trimmed); // one URL that lists its Sentinels with commas: redis-sentinel://a:1,b:2#master
        }
        return java.util.Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    private static FailureMode mode(String key, String value) {
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "local" -> FailureMode.LOCAL;
            case "allow" -> FailureMode.ALLOW;
            case "deny" -> FailureMode.DENY;
            default -> throw new ConfigException(key, "expected one of local, allow, deny, got '" + value + "'");
        };
    }
}
