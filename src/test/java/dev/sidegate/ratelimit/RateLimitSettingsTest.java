package dev.sidegate.ratelimit;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.sidegate.config.ConfigException;
import dev.sidegate.assembly.ConfigLoader;
import dev.sidegate.assembly.SidegateConfig;
import dev.sidegate.testing.SidegateFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RateLimitSettingsTest {

    private static SidegateConfig load(String yaml, Map<String, String> env) {
        Map<String, String> all = new HashMap<>(env);
        all.put("SIDEGATE_CONFIG", SidegateFixture.writeTemp(yaml).toString());
        return ConfigLoader.load(all);
    }

    @Test
    void theSeedsFormatLoadsVerbatim() {
        RateLimitSettings r = load("""
                rate_limits:
                  default:
                    requests: 100
                    window: 60s
                  premium:
                    requests: 1000
                    window: 60s
                  routes:
                    /api/v1/search:
                      requests: 30
                      window: 60s
                    /api/v1/export:
                      requests: 5
                      window: 60s
                """, Map.of()).rateLimits().orElseThrow();
        assertEquals(new Limit(100, java.time.Duration.ofSeconds(60)), r.tiers().get("default"));
        assertEquals(1000, r.tiers().get("premium").requests());
        assertEquals(30, r.routes().get("/api/v1/search").requests());
        assertEquals(5, r.routes().get("/api/v1/export").requests());
        assertTrue(r.redis().isEmpty());
        assertEquals(FailureMode.LOCAL, r.onRedisFailure());
    }

    @Test
    void redisUrlsAndClusterSwitch() {
        String yaml = "rate_limits:\n  default: {requests: 1, window: 1s}\n";
        RedisSettings one = load(yaml, Map.of("SIDEGATE_REDIS_URL", "rediss://:secret@redis:6380")).rateLimits().orElseThrow()
                .redis().orElseThrow();
        assertEquals(false, one.cluster());
        assertEquals("[rediss://<redacted>@redis:6380]", one.redactedUrls().toString());
        RedisSettings many = load(yaml, Map.of("SIDEGATE_REDIS_URL", "redis://a:7000, redis://b:7001")).rateLimits().orElseThrow()
                .redis().orElseThrow();
        assertTrue(many.cluster(), "a list of nodes means Cluster");
        assertTrue(load(yaml, Map.of("SIDEGATE_REDIS_URL", "redis://a:7000", "SIDEGATE_REDIS_CLUSTER", "true"))
                           .rateLimits().orElseThrow().redis().orElseThrow().cluster());
        RedisSettings sentinels = load(yaml, Map.of("SIDEGATE_REDIS_URL", "redis-sentinel://s1:26379,s2:26379#mymaster"))
                .rateLimits().orElseThrow().redis().orElseThrow();
        assertEquals(List.of("redis-sentinel://s1:26379,s2:26379#mymaster"), sentinels.urls(), "one Sentinel URL, not a Cluster list");
        assertFalse(sentinels.cluster());
    }

    @Test
    void aRedisCaFileMustBeAReadablePemCertificate() throws Exception {
        String yaml = "rate_limits:\n  default: {requests: 1, window: 1s}\n";
        ConfigException missing = assertThrows(ConfigException.class, () -> load(yaml, Map.of(
                "SIDEGATE_REDIS_URL", "rediss://redis:6380", "SIDEGATE_REDIS_CA", "/nonexistent/ca.pem")));
        assertEquals("SIDEGATE_REDIS_CA: cannot read '/nonexistent/ca.pem'", missing.getMessage());
        java.nio.file.Path notPem = java.nio.file.Files.createTempFile("not-a-ca", ".pem");
        java.nio.file.Files.writeString(notPem, "hello");
        ConfigException garbage = assertThrows(ConfigException.class, () -> load(
                yaml + "rate_limiting:\n  redis:\n    url: rediss://redis:6380\n    ca_file: " + notPem + "\n", Map.of()));
        assertEquals("rate_limiting.redis.ca_file", garbage.key());
        assertTrue(garbage.getMessage().contains("holds no PEM certificate"), garbage.getMessage());
        java.nio.file.Files.delete(notPem);
        java.nio.file.Path pem = java.nio.file.Files.createTempFile("ca", ".pem");
        java.nio.file.Files.writeString(pem, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        ConfigException plain = assertThrows(ConfigException.class, () -> load(yaml, Map.of(
                "SIDEGATE_REDIS_URL", "redis://redis:6379", "SIDEGATE_REDIS_CA", pem.toString())));
        assertEquals("SIDEGATE_REDIS_CA: a CA file applies to rediss:// URLs only, and the Redis URL is not rediss://",
                     plain.getMessage());
        assertEquals(java.util.Optional.of(pem), load(yaml, Map.of("SIDEGATE_REDIS_URL", "rediss://redis:6380", "SIDEGATE_REDIS_CA",
                                                                   pem.toString())).rateLimits().orElseThrow().redis().orElseThrow().caFile());
        java.nio.file.Files.delete(pem);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "rate_limits: {default: {requests: -1, window: 60s}}          | rate_limits.default.requests: must be between 1 and 1000000000, got -1",
            "rate_limits: {default: {requests: 10, window: 0s}}           | rate_limits.default.window: must be greater than zero, got '0s'",
            "rate_limits: {default: {requests: 10, window: 60 secs}}      | rate_limits.default.window: expected a duration such as 250ms, 5s, 1m or 2h, got '60 secs'",
            "rate_limits: {default: {requests: 10, window: 1500ms}}       | rate_limits.default.window: must be whole seconds (RateLimit-Policy states it in seconds), got 1500ms",
            "rate_limits: {default: {window: 60s}}                        | rate_limits.default.requests: required: a whole number of requests per window",
            "rate_limits: {premium: {requests: 10, window: 60s}}          | rate_limits: tiers are defined but no 'default' tier, which clients without a known tier need",
            "rate_limits: {'gold tier': {requests: 10, window: 60s}, default: {requests: 1, window: 1s}} | rate_limits.gold tier: a tier name may use letters, digits, '_', '.' and '-' only",
            "rate_limits: {default: {requests: 10, window: 60s, burst: 3}} | rate_limits.default.burst: unknown key",
            "{rate_limits: {default: {requests: 1, window: 1s}}, rate_limiting: {on_redis_failure: panic}} | rate_limiting.on_redis_failure: expected one of local, allow, deny, got 'panic'",
            "{rate_limits: {default: {requests: 1, window: 1s}}, rate_limiting: {redis: {url: 'http://redis'}}} | rate_limiting.redis.url: expected redis://, rediss:// or redis-sentinel:// URLs, got 'http://redis'",
            "{rate_limits: {default: {requests: 1, window: 1s}}, rate_limiting: {local_share: 0}} | rate_limiting.local_share: must be between 1 and 10000, got 0",
    })
    void badRateLimitConfigurationFailsWithOneLine(String yaml, String expected) {
        assertEquals(expected, assertThrows(ConfigException.class, () -> load(yaml, Map.of())).getMessage());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "redis://redis:notaport            | SIDEGATE_REDIS_URL: the Redis URL 'redis://redis:notaport' has no host (or a port that is not a number)",
            "redis://redis:99999               | SIDEGATE_REDIS_URL: the Redis URL 'redis://redis:99999' has a port out of range",
            "redis://:secret@                  | SIDEGATE_REDIS_URL: the Redis URL 'redis://<redacted>@' has no host (or a port that is not a number)",
            "redis://re dis:6379               | SIDEGATE_REDIS_URL: malformed Redis URL 'redis://re dis:6379': Illegal character in authority",
            "rediss://redis:6380/db            | SIDEGATE_REDIS_URL: the Redis URL 'rediss://redis:6380/db' names a database that is not a number",
            "redis://redis:6379?timeout=5s     | SIDEGATE_REDIS_URL: the Redis URL 'redis://redis:6379?timeout=5s' has a query or fragment; the Redis timeout is rate_limiting.redis.timeout and the database the URL's path (redis://host:6379/2)",
            "rediss://redis:6380/1#x           | SIDEGATE_REDIS_URL: the Redis URL 'rediss://redis:6380/1#x' has a query or fragment; the Redis timeout is rate_limiting.redis.timeout and the database the URL's path (redis://host:6379/2)",
            "redis-sentinel://s1:26379         | SIDEGATE_REDIS_URL: malformed Redis URL 'redis-sentinel://s1:26379': URI must contain the sentinelMasterId",
    })
    void aMalformedRedisUrlIsAConfigurationErrorEvenWithoutRateLimits(String url, String expected) {
        for (String yaml : new String[] {"", "rate_limits:\n  default: {requests: 1, window: 1s}\n"}) {
            ConfigException e = assertThrows(ConfigException.class, () -> load(yaml, Map.of("SIDEGATE_REDIS_URL", url)));
            assertEquals(expected, e.getMessage());
        }
        assertEquals(java.util.List.of("redis://redis:6379/2"), load("rate_limits:\n  default: {requests: 1, window: 1s}\n",
                Map.of("SIDEGATE_REDIS_URL", "redis://redis:6379/2")).rateLimits().orElseThrow().redis().orElseThrow().urls());
    }

    @Test
    void routeLimitPrefixesMustBeNormalised() {
        SidegateConfig config = load("rate_limits:\n  routes:\n    /api/v1/search/: {requests: 1, window: 1s}\n", Map.of());
        ConfigException e = assertThrows(ConfigException.class, () -> {
            dev.sidegate.SidegateTestAccess.build(config);
        });
        assertEquals("rate_limits.routes./api/v1/search/", e.key());
    }
}
