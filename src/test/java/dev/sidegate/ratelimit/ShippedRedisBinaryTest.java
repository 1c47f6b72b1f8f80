package dev.sidegate.ratelimit;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.sidegate.testing.RedisBinary;
import dev.sidegate.testing.RedisFixture;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static dev.sidegate.ratelimit.RateLimitTest.LIMITS;
import static dev.sidegate.ratelimit.RateLimitTest.freshIp;
import static dev.sidegate.ratelimit.RateLimitTest.send;
import static dev.sidegate.ratelimit.RedisConnectionsTest.resource;
import static dev.sidegate.ratelimit.RedisConnectionsTest.sixRequests;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fallback a machine without redis-server or Docker uses, run here on purpose even where redis-server is
 * installed ({@code .ci/run} installs it, so every other Redis test there runs on the installed one): the Redis 6.2
 * binary from the embedded-redis jar, as a plain server, over TLS, behind a Sentinel and as a cluster.
 */
class ShippedRedisBinaryTest {
    private static RedisBinary shipped;

    @BeforeAll
    static void start() {
        shipped = RedisBinary.shipped();
        RateLimitTest.upstream = TestUpstream.start();
    }

    @AfterAll
    static void stop() {
        RateLimitTest.upstream.close();
    }

    @Test
    void theShippedBinaryIsRedisSixFromTheJarNotTheInstalledOne() {
        assertTrue(shipped.fromJar());
        assertEquals(6, shipped.majorVersion());
        RedisBinary installed = RedisBinary.installed();
        assertTrue(installed == null || !installed.path().equals(shipped.path()));
    }

    @Test
    void twoSidecarsShareTheirBucketsInAPlainShippedRedis() {
        try (RedisFixture redis = RedisFixture.start(shipped);
             SidegateFixture a = SidegateFixture.start(LIMITS, RateLimitTest.env(redis.url()));
             SidegateFixture b = SidegateFixture.start(LIMITS, RateLimitTest.env(redis.url()))) {
            String ip = freshIp();
            List<Integer> statuses = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                statuses.add(send(i % 2 == 0 ? a : b, "/api/shipped", ip).statusCode());
            }
            assertEquals(List.of(200, 200, 200, 200, 200, 429), statuses, "one bucket of 5 for both sidecars");
            assertTrue(redis.with(r -> r.dbsize()) > 0);
        }
    }

    @Test
    void theShippedBinarySpeaksTls() throws Exception {
        Path cert = resource("tls/cert.pem");
        try (RedisFixture redis = RedisFixture.startTls(shipped, cert, resource("tls/key.pem"));
             SidegateFixture sg = SidegateFixture.start(LIMITS, RateLimitTest.env(redis.url(), "SIDEGATE_REDIS_CA", cert.toString()))) {
            assertEquals(List.of(200, 200, 200, 200, 200, 429), sixRequests(sg, "/api/shipped-tls"));
            assertTrue(sg.admin("/observe/health/ready").body().contains("redis ok"));
        }
    }

    @Test
    void theShippedBinaryRunsAsSentinelAndAsACluster() {
        try (RedisFixture master = RedisFixture.start(shipped);
             RedisFixture.Sentinel sentinel = master.sentinel();
             SidegateFixture sg = SidegateFixture.start(LIMITS, RateLimitTest.env(sentinel.url()))) {
            assertEquals(List.of(200, 200, 200, 200, 200, 429), sixRequests(sg, "/api/shipped-sentinel"));
            assertTrue(master.with(r -> r.dbsize()) > 0, "the buckets are on the master the Sentinel named");
        }
        try (RedisFixture.Cluster cluster = new RedisFixture.Cluster(shipped);
             SidegateFixture sg = SidegateFixture.start(LIMITS, RateLimitTest.env(cluster.urls()))) {
            assertEquals(List.of(200, 200, 200, 200, 200, 429), sixRequests(sg, "/api/shipped-cluster"));
            assertTrue(sg.admin("/observe/health/ready").body().contains("redis ok"));
        }
    }
}
