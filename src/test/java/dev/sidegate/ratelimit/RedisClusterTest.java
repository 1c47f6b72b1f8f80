package dev.sidegate.ratelimit;

import dev.sidegate.testing.RedisFixture;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import org.junit.jupiter.api.Test;

import static dev.sidegate.ratelimit.RateLimitTest.freshIp;
import static dev.sidegate.ratelimit.RateLimitTest.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A real three-master Redis Cluster: many clients spread over the slots, every limit exact. */
class RedisClusterTest {

    @Test
    void limitsAreExactForClientsSpreadOverAllMasters() {
        String yaml = """
                server:
                  trusted_proxies: [127.0.0.1/32]
                rate_limits:
                  default:
                    requests: 3
                    window: 600s
                  routes:
                    /api/search:
                      requests: 2
                      window: 600s
                """;
        try (TestUpstream upstream = TestUpstream.start();
             RedisFixture.Cluster cluster = new RedisFixture.Cluster()) {
            RateLimitTest.upstream = upstream;
            try (SidegateFixture a = SidegateFixture.start(yaml, RateLimitTest.env(cluster.urls()));
                 SidegateFixture b = SidegateFixture.start(yaml, RateLimitTest.env(cluster.urls().split(",")[0],
                                                                                   "SIDEGATE_REDIS_CLUSTER", "true"))) {
                for (int client = 0; client < 60; client++) {
                    String ip = freshIp();
                    int ok = 0;
                    int search = 0;
                    for (int i = 0; i < 5; i++) {
                        SidegateFixture sg = i % 2 == 0 ? a : b;
                        ok += send(sg, "/api/items", ip).statusCode() == 200 ? 1 : 0;
                    }
                    assertEquals(3, ok, "client " + ip);
                    String ip2 = freshIp();
                    for (int i = 0; i < 4; i++) {
                        search += send(i % 2 == 0 ? a : b, "/api/search", ip2).statusCode() == 200 ? 1 : 0;
                    }
                    assertEquals(2, search, "route limit for client " + ip2 + " (its tier and route buckets share a slot)");
                }
                for (int port : cluster.ports()) {
                    assertTrue(cluster.keysOn(port) > 0, "buckets land on every master, port " + port);
                }
                assertTrue(a.admin("/observe/health/ready").body().contains("redis ok"), "no request fell back to local buckets");
            }
        }
    }
}
