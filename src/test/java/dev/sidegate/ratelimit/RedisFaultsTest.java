package dev.sidegate.ratelimit;

import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidegate.testing.Await;
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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** When Redis fails, requests get nothing beyond the chosen failure mode; when it returns, limits are shared again. */
class RedisFaultsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void start() {
        RateLimitTest.upstream = TestUpstream.start();
    }

    @AfterAll
    static void stop() {
        RateLimitTest.upstream.close();
    }

    private static String readiness(SidegateFixture sg) {
        HttpResponse<String> ready = sg.admin("/observe/health/ready");
        assertEquals(200, ready.statusCode(), "readiness stays true in local and allow modes: " + ready.body());
        return ready.body();
    }

    @Test
    void redisStoppedMidRunFallsBackToLocalBucketsAndSharedLimitsReturnWithRedis() {
        try (RedisFixture redis = RedisFixture.start();
             SidegateFixture sg = SidegateFixture.start(LIMITS, RateLimitTest.env(redis.url()))) {
            String ip = freshIp();
            assertEquals(200, send(sg, "/api/a", ip).statusCode());
            assertTrue(readiness(sg).contains("redis ok"));

            redis.stop();
            String other = freshIp();
            int ok = 0;
            for (int i = 0; i < 8; i++) {
                int status = send(sg, "/api/b", other).statusCode();
                assertTrue(status == 200 || status == 429, "no request error beyond the local policy: " + status);
                ok += status == 200 ? 1 : 0;
            }
            assertEquals(5, ok, "local buckets enforce the limit (local_share 1)");
            assertTrue(readiness(sg).contains("redis degraded"), readiness(sg));

            redis.startServer();
            String third = freshIp();
            Await.until(() -> {
                send(sg, "/api/c", third);
                return readiness(sg).contains("redis ok");
            }, "the breaker's probes find Redis again (" + readiness(sg) + ")");
            assertEquals(200, send(sg, "/api/d", freshIp()).statusCode());
            assertTrue(redis.with(r -> r.dbsize()) > 0, "buckets are written to Redis again");
        }
    }

    @Test
    void flushedScriptsAreLoadedAgainWithoutAnyFallback() {
        try (RedisFixture redis = RedisFixture.start();
             SidegateFixture sg = SidegateFixture.start(LIMITS, RateLimitTest.env(redis.url()))) {
            String ip = freshIp();
            assertEquals(200, send(sg, "/api/s", ip).statusCode());
            redis.with(r -> r.scriptFlush());
            redis.with(r -> r.configResetstat());
            assertEquals(200, send(sg, "/api/s", ip).statusCode());
            assertEquals(1, redis.calls("eval"), "NOSCRIPT is answered by one EVAL, which loads the script again");
            assertEquals(200, send(sg, "/api/s", ip).statusCode());
            assertEquals(1, redis.calls("eval"), "then EVALSHA works again");
            assertTrue(readiness(sg).contains("redis ok"));
            assertEquals("2", redis.with(r -> r.hget(keyOf(redis, "tier:default"), "t")).split("\\.")[0],
                         "5 - 3: the bucket kept its state across the flush of the script cache");
        }
    }

    private static String keyOf(RedisFixture redis, String scope) {
        return redis.with(r -> r.keys("sidegate:rl:*:" + scope)).get(0);
    }

    @Test
    void aSlowRedisCostsTimeoutsOnlyUntilTheBreakerOpens() throws Exception {
        try (RedisFixture redis = RedisFixture.start();
             SidegateFixture sg = SidegateFixture.start(LIMITS, RateLimitTest.env(redis.url()))) {
            assertEquals(200, send(sg, "/api/warm", freshIp()).statusCode());
            redis.with(r -> r.configResetstat());
            CompletableFuture<String> sleep = CompletableFuture.supplyAsync(() -> redis.debugSleep(5));
            AtomicInteger sent = new AtomicInteger();
            Await.until(() -> {
                sent.incrementAndGet();
                assertEquals(200, send(sg, "/api/slow", freshIp()).statusCode(), "every request is decided, none fails");
                return readiness(sg).contains("circuit open");
            }, "the breaker opens while Redis sleeps");
            for (int i = 0; i < 40; i++) {
                sent.incrementAndGet();
                assertEquals(200, send(sg, "/api/open", freshIp()).statusCode());
            }
            sleep.get(30, TimeUnit.SECONDS);
            long reachedRedis = redis.calls("evalsha") + redis.calls("eval");
            assertTrue(reachedRedis >= 1 && reachedRedis < sent.get() / 2, "with the breaker open, requests stop costing "
                    + "Redis calls: " + reachedRedis + " calls for " + sent.get() + " requests");
        }
    }

    @Test
    void denyModeAnswers503AndAllowModeLetsEverythingThrough() throws Exception {
        try (RedisFixture redis = RedisFixture.start();
             SidegateFixture deny = SidegateFixture.start(LIMITS, RateLimitTest.env(redis.url(),
                     "SIDEGATE_RATE_LIMIT_ON_REDIS_FAILURE", "deny"));
             SidegateFixture allow = SidegateFixture.start(LIMITS + "rate_limiting:\n  on_redis_failure: allow\n",
                                                           RateLimitTest.env(redis.url()))) {
            redis.stop();
            HttpResponse<String> denied = send(deny, "/api/x", freshIp());
            assertEquals(503, denied.statusCode());
            assertEquals("urn:sidegate:problem:rate-limit-unavailable", JSON.readTree(denied.body()).get("type").asText());
            String ip = freshIp();
            for (int i = 0; i < 8; i++) {
                HttpResponse<String> allowed = send(allow, "/api/y", ip);
                assertEquals(200, allowed.statusCode());
                assertFalse(allowed.headers().firstValue("RateLimit").isPresent(), "nothing is counted, so nothing is claimed");
            }
        }
    }
}
