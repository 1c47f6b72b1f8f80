package dev.sidegate.resilience;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import dev.sidegate.config.ConfigException;
import dev.sidegate.assembly.ConfigLoader;
import dev.sidegate.assembly.SidegateConfig;
import dev.sidegate.testing.SidegateFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class UpstreamSettingsTest {

    private static SidegateConfig load(String yaml) {
        Map<String, String> env = new HashMap<>();
        env.put("SIDEGATE_CONFIG", SidegateFixture.writeTemp(yaml).toString());
        return ConfigLoader.load(env);
    }

    @Test
    void routesNameUpstreamsOrGiveUrlsAndEveryUpstreamHasDefaults() {
        SidegateConfig c = load("""
                upstream: http://127.0.0.1:8080
                upstreams:
                  orders:
                    url: http://orders:8082
                    max_concurrent: 50
                    circuit_breaker: {window: time, window_size: 30, wait_in_open: 5s, failure_statuses: [503]}
                  default:
                    max_concurrent: 10
                routes:
                  - path: /orders
                    upstream: orders
                    retry: {attempts: 2, backoff: 100ms, conditions: [connect_failure, 503]}
                    total_timeout: 1m
                  - path: /search
                    upstream: http://search:9000
                  - path: /
                """);
        assertEquals("orders", c.routes().get(0).upstreamName());
        assertEquals("http://orders:8082", c.routes().get(0).upstream().toString());
        assertEquals(new RetrySettings(2, Duration.ofMillis(100), true, java.util.Set.of(503)), c.routes().get(0).retry());
        assertEquals(Duration.ofMinutes(1), c.routes().get(0).totalTimeout());
        assertEquals("search:9000", c.routes().get(1).upstreamName());
        assertEquals("default", c.routes().get(2).upstreamName());
        UpstreamSettings orders = c.upstreams().get("orders");
        assertEquals(50, orders.maxConcurrent());
        assertEquals(true, orders.breaker().timeWindow());
        assertEquals(java.util.Set.of(503), orders.breaker().failureStatuses());
        assertEquals(10, c.upstreams().get("default").maxConcurrent());
        assertEquals(BreakerSettings.DEFAULT, c.upstreams().get("search:9000").breaker());
        assertEquals(RetrySettings.DEFAULT, c.routes().get(2).retry());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "routes: [{path: /a, upstream: nowhere}]                                  | routes[0].upstream: no upstream named 'nowhere' (names: default), and not a URL",
            "upstreams: {x: {max_concurrent: 5}}                                     | upstreams.x.url: every named upstream needs a url",
            "upstreams: {default: {url: 'http://a:1'}}                               | upstreams.default.url: the default upstream's URL is the top-level 'upstream' (or SIDEGATE_UPSTREAM)",
            "upstreams: {X: {url: 'http://a:1'}}                                     | upstreams.X: an upstream name uses lower-case letters, digits, '_', '.' and '-'",
            "upstreams: {x: {url: 'http://a:1', circuit_breaker: {window: sliding}}} | upstreams.x.circuit_breaker.window: expected count or time, got 'sliding'",
            "upstreams: {x: {url: 'http://a:1', circuit_breaker: {failure_rate: 0}}} | upstreams.x.circuit_breaker.failure_rate: must be between 1 and 100, got 0",
            "upstreams: {x: {url: 'http://a:1', circuit_breaker: {failure_statuses: [oops]}}} | upstreams.x.circuit_breaker.failure_statuses[0]: expected an HTTP status, got 'oops'",
            "routes: [{path: /a, timeout: 5s, total_timeout: 1s}]                    | routes[0].total_timeout: must not be shorter than the route's timeout (5s)",
            "routes: [{path: /a, retry: {conditions: [timeout]}}]                    | routes[0].retry.conditions[0]: expected connect_failure or a 5xx status, got 'timeout'",
            "routes: [{path: /a, retry: {attempts: 11}}]                             | routes[0].retry.attempts: must be between 0 and 10, got 11",
    })
    void badUpstreamSettingsFailWithOneLine(String yaml, String expected) {
        assertEquals(expected, assertThrows(ConfigException.class, () -> load(yaml)).getMessage());
    }
}
