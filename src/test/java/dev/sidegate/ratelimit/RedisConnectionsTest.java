package dev.sidegate.ratelimit;

import java.net.URISyntaxException;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.sidegate.testing.RedisFixture;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static dev.sidegate.ratelimit.RateLimitTest.LIMITS;
import static dev.sidegate.ratelimit.RateLimitTest.freshIp;
import static dev.sidegate.ratelimit.RateLimitTest.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The other ways to reach Redis, for real: rediss:// to a redis-server speaking TLS only (certificate from a private
 * CA), and redis-sentinel:// through a Sentinel process.
 */
class RedisConnectionsTest {

    @BeforeAll
    static void start() {
        RateLimitTest.upstream = TestUpstream.start();
    }

    @AfterAll
    static void stop() {
        RateLimitTest.upstream.close();
    }

    @Test
    void redissWithTheConfiguredCaSharesBucketsInRedis() throws Exception {
        try (RedisFixture redis = RedisFixture.startTls(resource("tls/cert.pem"), resource("tls/key.pem"));
             SidegateFixture sg = SidegateFixture.start(LIMITS, RateLimitTest.env(redis.url(),
                                                                                 "SIDEGATE_REDIS_CA", resource("tls/cert.pem").toString()))) {
            assertTrue(redis.url().startsWith("rediss://"));
            assertEquals(List.of(200, 200, 200, 200, 200, 429), sixRequests(sg, "/api/tls"), "the default tier's 5 requests, then 429");
            assertTrue(sg.admin("/observe/health/ready").body().contains("redis ok"), sg.admin("/observe/health/ready").body());
            assertTrue(redis.with(r -> r.dbsize()) > 0, "the buckets are in Redis, reached over TLS");
        }
    }

    @Test
    void aServerCertificateTheSidecarDoesNotTrustIsNeverUsed() throws Exception {
        // Without SIDEGATE_REDIS_CA the JVM's trust store applies, which does not know this self-signed certificate:
        // Sidegate must refuse the connection (no silent "trust all") and limit locally, as for any Redis failure.
        try (RedisFixture redis = RedisFixture.startTls(resource("tls/cert.pem"), resource("tls/key.pem"));
             SidegateFixture sg = SidegateFixture.start(LIMITS, RateLimitTest.env(redis.url()))) {
            String ip = freshIp();
            int ok = 0;
            for (int i = 0; i < 6; i++) {
                int status = send(sg, "/api/untrusted", ip).statusCode();
                assertTrue(status == 200 || status == 429, "the local policy answers, never an error: " + status);
                ok += status == 200 ? 1 : 0;
            }
            assertEquals(5, ok, "local buckets enforce the limit");
            HttpResponse<String> ready = sg.admin("/observe/health/ready");
            assertEquals(200, ready.statusCode());
            assertTrue(ready.body().contains("redis degraded"), ready.body());
            long keys = redis.with(r -> r.dbsize());
            assertEquals(0L, keys, "nothing was written over an unverified connection");
        }
    }

    @Test
    void aSentinelUrlFindsTheMasterThroughAnySentinelAndTheBucketsLiveThere() {
        try (RedisFixture master = RedisFixture.start();
             RedisFixture.Sentinel sentinel = master.sentinel();
             // Two Sentinels, the first one down: the comma lists Sentinels here, it does not mean Cluster.
             SidegateFixture sg = SidegateFixture.start(LIMITS, RateLimitTest.env(
                     sentinel.url().replace("redis-sentinel://", "redis-sentinel://127.0.0.1:1,")))) {
            assertEquals(List.of(200, 200, 200, 200, 200, 429), sixRequests(sg, "/api/sentinel"), "the default tier's 5 requests, then 429");
            String ready = sg.admin("/observe/health/ready").body();
            assertTrue(ready.contains("redis ok"), ready);
            long keys = master.with(r -> r.dbsize());
            assertTrue(keys > 0, "the buckets are on the master the Sentinel named");
        }
    }

    static List<Integer> sixRequests(SidegateFixture sg, String path) {
        String ip = freshIp();
        List<Integer> statuses = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            statuses.add(send(sg, path, ip).statusCode());
        }
        return statuses;
    }

    static Path resource(String name) throws URISyntaxException {
        return Path.of(RedisConnectionsTest.class.getClassLoader().getResource(name).toURI());
    }
}
