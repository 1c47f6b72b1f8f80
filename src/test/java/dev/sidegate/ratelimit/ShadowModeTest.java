package dev.sidegate.ratelimit;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import dev.sidegate.testing.Meters;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static dev.sidegate.ratelimit.RateLimitTest.JSON;
import static dev.sidegate.ratelimit.RateLimitTest.env;
import static dev.sidegate.ratelimit.RateLimitTest.freshIp;
import static dev.sidegate.ratelimit.RateLimitTest.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Limits in shadow mode (enforce: false): counted exactly as if enforced, never denying. */
class ShadowModeTest {
    private static final String SHADOW = """
            server:
              trusted_proxies: [127.0.0.1/32]
            rate_limits:
              default:
                requests: 10
                window: 600s
              routes:
                /api/new-limit:
                  requests: 2
                  window: 600s
                  enforce: false
            """;

    @BeforeAll
    static void start() {
        RateLimitTest.upstream = TestUpstream.start();
    }

    @AfterAll
    static void stop() {
        RateLimitTest.upstream.close();
    }

    private static long decisions(SidegateFixture sg, String decision) {
        return Meters.value(sg, "sidegate_rate_limit_decisions_total", "decision=\"" + decision + "\"");
    }

    @Test
    void aShadowLimitAdmitsWhatItWouldDenyCountsItAndShowsNoDenial() {
        try (SidegateFixture sg = SidegateFixture.start(SHADOW, env(null))) {
            String ip = freshIp();
            List<HttpResponse<String>> responses = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                responses.add(send(sg, "/api/new-limit/x", ip));
            }
            for (HttpResponse<String> r : responses) {
                assertEquals(200, r.statusCode(), "a shadow limit never answers 429");
                String fields = r.headers().firstValue("RateLimit").orElseThrow();
                assertTrue(fields.startsWith("\"default\";"), "only the enforced tier shows: " + fields);
                assertFalse(fields.contains("new-limit"), fields);
            }
            assertEquals(2, decisions(sg, "shadow_denied"), "requests 3 and 4 would have been denied");
            assertEquals(2, decisions(sg, "allowed"));
            // A denial takes no token, in shadow mode as when enforced: the tier counted only the 2 allowed requests.
            String tier = responses.get(3).headers().firstValue("RateLimit").orElseThrow();
            assertEquals("\"default\";r=8;t=0", tier);
        }
    }

    @Test
    void anEnforcedLimitStillDeniesBesideAShadowOne() {
        String yaml = SHADOW.replace("requests: 10", "requests: 1");
        try (SidegateFixture sg = SidegateFixture.start(yaml, env(null))) {
            String ip = freshIp();
            assertEquals(200, send(sg, "/api/new-limit/x", ip).statusCode());
            HttpResponse<String> denied = send(sg, "/api/new-limit/x", ip);
            assertEquals(429, denied.statusCode(), "the tier is enforced");
            assertFalse(denied.headers().firstValue("RateLimit-Policy").orElseThrow().contains("new-limit"));
        }
    }

    @Test
    void switchingEnforceByReloadKeepsTheBucketsAndTheAllSwitchShadowsEveryLimit() throws Exception {
        String all = """
                server:
                  trusted_proxies: [127.0.0.1/32]
                rate_limits:
                  enforce: false
                  default:
                    requests: 2
                    window: 600s
                """;
        try (SidegateFixture sg = SidegateFixture.start(all, env(null, "SIDEGATE_CONFIG_WATCH", "false"))) {
            String ip = freshIp();
            for (int i = 0; i < 3; i++) {
                assertEquals(200, send(sg, "/x", ip).statusCode());
            }
            assertEquals(1, decisions(sg, "shadow_denied"));
            Files.writeString(sg.configFile(), all.replace("enforce: false", "enforce: true"));
            HttpResponse<String> reload = SidegateFixture.send(HttpRequest.newBuilder(sg.adminUri("/admin/reload"))
                                                                       .POST(HttpRequest.BodyPublishers.noBody()).build());
            assertEquals("applied", JSON.readTree(reload.body()).get("result").asText());
            assertEquals(429, send(sg, "/x", ip).statusCode(), "the bucket the shadow limit emptied is still empty");
        }
    }

    @Test
    void enforceMustBeABoolean() {
        String message = org.junit.jupiter.api.Assertions.assertThrows(dev.sidegate.config.ConfigException.class,
                () -> SidegateFixture.start("rate_limits:\n  default: {requests: 1, window: 1s, enforce: maybe}\n", env(null)))
                .getMessage();
        assertTrue(message.startsWith("rate_limits.default.enforce: "), message);
    }
}
