package dev.sidegate.ratelimit;

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

/** redis-sentinel://: a real Sentinel process tells Sidegate where the master is. */
class RedisSentinelTest {

    @BeforeAll
    static void start() {
        RateLimitTest.upstream = TestUpstream.start();
    }

    @AfterAll
    static void stop() {
        RateLimitTest.upstream.close();
    }

    @Test
    void aSentinelUrlFindsTheMasterThroughAnySentinelAndTheBucketsLiveThere() {
        try (RedisFixture master = RedisFixture.start();
             RedisFixture.Sentinel sentinel = master.sentinel();
             // Two Sentinels, the first one down: the comma lists Sentinels here, it does not mean Cluster.
             SidegateFixture sg = SidegateFixture.start(LIMITS, RateLimitTest.env(
                     sentinel.url().replace("redis-sentinel://", "redis-sentinel://127.0.0.1:1,")))) {
            String ip = freshIp();
            List<Integer> statuses = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                statuses.add(send(sg, "/api/sentinel", ip).statusCode());
            }
            assertEquals(List.of(200, 200, 200, 200, 200, 429), statuses, "the default tier's 5 requests, then 429");
            String ready = sg.admin("/observe/health/ready").body();
            assertTrue(ready.contains("redis ok"), ready);
            long keys = master.with(r -> r.dbsize());
            assertTrue(keys > 0, "the buckets are on the master the Sentinel named");
        }
    }
}
