package dev.sidegate.ratelimit;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jwt.JWTClaimsSet;
import dev.sidegate.testing.RedisFixture;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import dev.sidegate.testing.Tokens;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shared token buckets in a real Redis, through real Sidegate instances. */
class RateLimitTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final byte[] SECRET = "rate-limit-tests-secret-0123456789abcdef".getBytes(StandardCharsets.UTF_8);
    static final String LIMITS = """
            server:
              trusted_proxies: [127.0.0.1/32]
            rate_limits:
              default:
                requests: 5
                window: 600s
              premium:
                requests: 8
                window: 600s
              routes:
                /api/search:
                  requests: 3
                  window: 600s
            """;
    private static final AtomicInteger NEXT_IP = new AtomicInteger(1);
    static TestUpstream upstream;
    static RedisFixture redis;

    @BeforeAll
    static void start() {
        upstream = TestUpstream.start();
        redis = RedisFixture.start();
    }

    @AfterAll
    static void stop() {
        redis.close();
        upstream.close();
    }

    static String freshIp() {
        int n = NEXT_IP.getAndIncrement();
        return "10." + (n >> 16 & 255) + "." + (n >> 8 & 255) + "." + (n & 255);
    }

    static Map<String, String> env(String redisUrl, String... more) {
        Map<String, String> env = new HashMap<>();
        env.put("SIDEGATE_UPSTREAM", upstream.url());
        if (redisUrl != null) {
            env.put("SIDEGATE_REDIS_URL", redisUrl);
        }
        for (int i = 0; i < more.length; i += 2) {
            env.put(more[i], more[i + 1]);
        }
        return env;
    }

    static Map<String, String> withAuth(Map<String, String> env) {
        Map<String, String> all = new HashMap<>(env);
        all.put("SIDEGATE_JWT_HMAC_SECRET", new String(SECRET, StandardCharsets.UTF_8));
        all.put("SIDEGATE_JWT_ISSUER", Tokens.ISSUER);
        all.put("SIDEGATE_JWT_AUDIENCE", Tokens.AUDIENCE);
        return all;
    }

    static String token(String subject, String tier) {
        JWTClaimsSet.Builder claims = Tokens.claims(subject);
        if (tier != null) {
            claims.claim("tier", tier);
        }
        return Tokens.hs256(SECRET, claims.build());
    }

    static HttpResponse<String> send(SidegateFixture sg, String path, String ip, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(sg.uri(path)).header("X-Forwarded-For", ip);
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return SidegateFixture.send(b.build());
    }

    static int allowed(SidegateFixture sg, String path, String ip, int attempts, String... headers) {
        int ok = 0;
        for (int i = 0; i < attempts; i++) {
            int status = send(sg, path, ip, headers).statusCode();
            assertTrue(status == 200 || status == 429, "only 200 or 429, got " + status);
            ok += status == 200 ? 1 : 0;
        }
        return ok;
    }

    @Test
    void twoInstancesSharingRedisAdmitExactlyTheLimitInABurst() {
        try (SidegateFixture a = SidegateFixture.start(LIMITS, env(redis.url()));
             SidegateFixture b = SidegateFixture.start(LIMITS, env(redis.url()))) {
            String ip = freshIp();
            int before = upstream.count();
            int ok = 0;
            for (int i = 0; i < 30; i++) {
                ok += send(i % 2 == 0 ? a : b, "/api/items", ip).statusCode() == 200 ? 1 : 0;
            }
            assertEquals(5, ok, "the default tier allows 5 per 600s across both instances");
            assertEquals(before + 5, upstream.count(), "denied requests never reach the upstream");
        }
    }

    @Test
    void tiersAndRouteLimitsCombineAndADeniedRequestTakesNoToken() {
        try (SidegateFixture sg = SidegateFixture.start(LIMITS, withAuth(env(redis.url())))) {
            String ip = freshIp();
            String premium = "Bearer " + token("premium-" + ip, "premium");
            assertEquals(3, allowed(sg, "/api/search", ip, 3, "Authorization", premium));
            HttpResponse<String> routeDenied = send(sg, "/api/search", ip, "Authorization", premium);
            assertEquals(429, routeDenied.statusCode(), "the route bucket is empty");
            assertEquals("\"premium\";r=5;t=0, \"/api/search\";r=0;t=200",
                         routeDenied.headers().firstValue("RateLimit").orElseThrow(),
                         "the denied request took nothing from the tier bucket");
            HttpResponse<String> other = send(sg, "/api/other", ip, "Authorization", premium);
            assertEquals(200, other.statusCode());
            assertEquals("\"premium\";r=4;t=0", other.headers().firstValue("RateLimit").orElseThrow());
            assertEquals(4, allowed(sg, "/api/other", ip, 6, "Authorization", premium), "8 per tier in all");

            String noTier = "Bearer " + token("plain-" + ip, null);
            String unknownTier = "Bearer " + token("gold-" + ip, "gold");
            assertEquals(5, allowed(sg, "/api/x", ip, 7, "Authorization", noTier), "no tier claim: default");
            assertEquals(5, allowed(sg, "/api/x", ip, 7, "Authorization", unknownTier), "unknown tier: default");
        }
    }

    @Test
    void routeLimitKeysWithDotsAreWholePaths() {
        String yaml = """
                server:
                  trusted_proxies: [127.0.0.1/32]
                rate_limits:
                  default: {requests: 50, window: 600s}
                  routes:
                    /orders.v1.Orders/Get: {requests: 1, window: 600s}
                    /api/v1.2: {requests: 2, window: 600s}
                """;
        try (SidegateFixture sg = SidegateFixture.start(yaml, env(redis.url()))) {
            String ip = freshIp();
            assertEquals(1, allowed(sg, "/orders.v1.Orders/Get", ip, 3), "a gRPC method path is one key");
            assertEquals(2, allowed(sg, "/api/v1.2/items", ip, 4), "a version with a dot is one key");
            HttpResponse<String> denied = send(sg, "/api/v1.2/items", ip);
            assertEquals("\"default\";r=47;t=0, \"/api/v1.2\";r=0;t=300",
                         denied.headers().firstValue("RateLimit").orElseThrow());
            assertEquals(200, send(sg, "/api/v1/items", ip).statusCode(), "/api/v1 is not /api/v1.2");
        }
    }

    @Test
    void clientsAreKeyedByUserThenApiKeyThenTrustedClientIp() {
        String yaml = LIMITS + "rate_limiting:\n  api_key_header: X-API-Key\n";
        try (SidegateFixture sg = SidegateFixture.start(yaml, withAuth(env(redis.url())))) {
            String ip = freshIp();
            assertEquals(5, allowed(sg, "/api/u", ip, 6, "Authorization", "Bearer " + token("alice-" + ip, null)));
            assertEquals(5, allowed(sg, "/api/u", ip, 6, "Authorization", "Bearer " + token("bob-" + ip, null)),
                         "another user behind the same IP has a bucket of its own");
        }
        try (SidegateFixture sg = SidegateFixture.start(yaml, env(redis.url()))) {
            String ip2 = freshIp();
            assertEquals(5, allowed(sg, "/api/k", ip2, 6, "X-API-Key", "key-one-" + ip2));
            assertEquals(5, allowed(sg, "/api/k", ip2, 6, "X-API-Key", "key-two-" + ip2));
            assertEquals(5, allowed(sg, "/api/ip", freshIp(), 6), "behind a trusted proxy, the forwarded client counts");
            assertEquals(5, allowed(sg, "/api/ip", freshIp(), 6));
        }
        try (SidegateFixture untrusting = SidegateFixture.start(LIMITS.replace("trusted_proxies: [127.0.0.1/32]", "trusted_proxies: []"),
                                                                 env(redis.url()))) {
            redis.with(r -> r.del("unused"));
            int ok = 0;
            for (int i = 0; i < 10; i++) {
                ok += send(untrusting, "/api/spoof", freshIp()).statusCode() == 200 ? 1 : 0;
            }
            assertEquals(5, ok, "a spoofed X-Forwarded-For from an untrusted peer changes nothing: one bucket, the peer's");
        }
    }

    @Test
    void requestsWithBadTokensAreLimitedByIpBeforeTheyAreRejected() {
        try (SidegateFixture sg = SidegateFixture.start(LIMITS, withAuth(env(redis.url())))) {
            String ip = freshIp();
            int unauthorized = 0;
            int limited = 0;
            for (int i = 0; i < 9; i++) {
                int status = send(sg, "/api/guess", ip, "Authorization", "Bearer guess." + i + ".x").statusCode();
                unauthorized += status == 401 ? 1 : 0;
                limited += status == 429 ? 1 : 0;
            }
            assertEquals(5, unauthorized);
            assertEquals(4, limited);
        }
    }

    @Test
    void aFreshApiKeyPerRequestDoesNotLetBadTokensEscapeTheIpLimit() {
        String yaml = LIMITS + """
                routes:
                  - path: /open
                    public: true
                  - path: /
                rate_limiting:
                  api_key_header: X-API-Key
                """;
        try (SidegateFixture sg = SidegateFixture.start(yaml, withAuth(env(redis.url())))) {
            for (String path : new String[] {"/api/guess", "/open/guess"}) {
                String ip = freshIp();
                int limited = 0;
                for (int i = 0; i < 9; i++) {
                    int status = send(sg, path, ip, "Authorization", "Bearer guess." + i + ".x", "X-API-Key", "fresh-" + i + ip)
                            .statusCode();
                    limited += status == 429 ? 1 : 0;
                }
                assertEquals(4, limited, path + ": 5 per IP, whatever key each request claims");
            }
            String ip = freshIp();
            int limited = 0;
            for (int i = 0; i < 9; i++) {
                limited += send(sg, "/api/none", ip, "X-API-Key", "fresh-" + i + ip).statusCode() == 429 ? 1 : 0;
            }
            assertEquals(4, limited, "no token on a protected route: rejected, so by IP too");
            assertEquals(5, allowed(sg, "/open/keyed", ip, 6, "X-API-Key", "good-key-" + ip),
                         "an anonymous request on a public route is still keyed by its API key");
        }
    }

    @Test
    void headersAndTheQuotaExceededProblemAreExactlyAsSpecified() throws Exception {
        try (SidegateFixture sg = SidegateFixture.start(LIMITS + "rate_limiting:\n  legacy_headers: true\n", env(redis.url()))) {
            String ip = freshIp();
            HttpResponse<String> first = send(sg, "/api/search", ip);
            assertEquals(200, first.statusCode());
            assertEquals("\"default\";q=5;w=600, \"/api/search\";q=3;w=600", first.headers().firstValue("RateLimit-Policy").orElseThrow());
            assertEquals("\"default\";r=4;t=0, \"/api/search\";r=2;t=0", first.headers().firstValue("RateLimit").orElseThrow());
            assertEquals("3", first.headers().firstValue("X-RateLimit-Limit").orElseThrow());
            assertEquals("2", first.headers().firstValue("X-RateLimit-Remaining").orElseThrow());
            assertEquals("0", first.headers().firstValue("X-RateLimit-Reset").orElseThrow());

            send(sg, "/api/search", ip);
            send(sg, "/api/search", ip);
            HttpResponse<String> denied = send(sg, "/api/search", ip);
            assertEquals(429, denied.statusCode());
            assertEquals("200", denied.headers().firstValue("Retry-After").orElseThrow(), "600s / 3 requests, rounded up");
            assertEquals("application/problem+json", denied.headers().firstValue("Content-Type").orElseThrow());
            JsonNode problem = JSON.readTree(denied.body());
            assertEquals("https://iana.org/assignments/http-problem-types#quota-exceeded", problem.get("type").asText());
            assertEquals("Quota exceeded", problem.get("title").asText());
            assertEquals(429, problem.get("status").asInt());
            assertEquals("rate limit \"/api/search\" exceeded: 3 requests per 600s; retry in 200s", problem.get("detail").asText());
            assertTrue(problem.get("trace_id").asText().matches("[0-9a-f]{32}"));
            assertEquals("\"default\";r=2;t=0, \"/api/search\";r=0;t=200", denied.headers().firstValue("RateLimit").orElseThrow());
            String metrics = sg.admin("/observe/metrics").body();
            assertTrue(metrics.matches("(?s).*sidegate_rate_limit_decisions_total\\{[^}]*decision=\"denied\"[^}]*} [1-9].*"), metrics);
        }
    }

    @Test
    void bucketsRefillAtTheConfiguredRateAndNeverFaster() {
        String yaml = """
                server:
                  trusted_proxies: [127.0.0.1/32]
                rate_limits:
                  default:
                    requests: 3
                    window: 3s
                """;
        try (SidegateFixture sg = SidegateFixture.start(yaml, env(redis.url()))) {
            String ip = freshIp();
            long startMicros = redisMicros();
            AtomicInteger ok = new AtomicInteger();
            dev.sidegate.testing.Await.until(() -> {
                if (send(sg, "/api/refill", ip).statusCode() == 200) {
                    ok.incrementAndGet();
                }
                return ok.get() >= 6;
            }, "three tokens have been refilled");
            double elapsedSeconds = (redisMicros() - startMicros) / 1e6;
            assertEquals(6, ok.get());
            assertTrue(elapsedSeconds >= 2.99, "after a burst of 3, three more at 1/s take at least 3s: " + elapsedSeconds + "s");
        }
    }

    static long redisMicros() {
        List<String> time = redis.with(r -> r.time());
        return Long.parseLong(time.get(0)) * 1_000_000 + Long.parseLong(time.get(1));
    }

    @Test
    void anAbusiveClientCostsRedisAlmostNothing() {
        try (SidegateFixture sg = SidegateFixture.start(LIMITS, env(redis.url()))) {
            String ip = freshIp();
            redis.with(r -> r.configResetstat());
            for (int i = 0; i < 50; i++) {
                send(sg, "/api/abuse", ip);
            }
            long scripts = redis.calls("evalsha") + redis.calls("eval");
            // 5 allowed and the first denial reach Redis (6 script calls; 7 when Redis had to load the script first).
            assertTrue(scripts >= 6 && scripts <= 7, "the other 44 denials are answered locally: " + scripts + " script calls");
        }
    }

    @Test
    void withoutRedisTheInProcessLimiterHasTheSameSemantics() {
        try (SidegateFixture sg = SidegateFixture.start(LIMITS, env(null))) {
            String ip = freshIp();
            assertEquals(3, allowed(sg, "/api/search", ip, 5));
            assertEquals(2, allowed(sg, "/api/other", ip, 5), "5 per tier, 3 of them taken on /api/search");
            assertTrue(sg.admin("/observe/health/ready").body().contains("local only (no Redis)"));
        }
    }
}
