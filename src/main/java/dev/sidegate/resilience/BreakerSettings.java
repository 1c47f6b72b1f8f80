package dev.sidegate.resilience;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import dev.sidegate.config.ConfigException;
import dev.sidegate.config.ConfigView;

/**
 * One upstream's circuit breaker (Resilience4j). A call fails when no connection could be made, when the response
 * headers did not come in time, when the connection broke, or when the status is in {@code failureStatuses}.
 *
 * @param enabled          false: no breaker for this upstream
 * @param timeWindow       the window counts seconds instead of calls
 * @param windowSize       calls (count window) or seconds (time window) the rates are computed over
 * @param minimumCalls     calls needed in the window before the rates count
 * @param failureRate      percent of failed calls that opens the circuit
 * @param slowCallDuration calls slower than this (to response headers) are slow
 * @param slowCallRate     percent of slow calls that opens the circuit
 * @param waitInOpen       how long the circuit stays open before probing
 * @param halfOpenCalls    probe calls let through when half-open
 * @param failureStatuses  response statuses that count as failures
 */
public record BreakerSettings(boolean enabled, boolean timeWindow, int windowSize, int minimumCalls, float failureRate,
                              Duration slowCallDuration, float slowCallRate, Duration waitInOpen, int halfOpenCalls,
                              Set<Integer> failureStatuses) {

    public static final BreakerSettings DEFAULT = new BreakerSettings(true, false, 20, 10, 50, Duration.ofSeconds(5), 80,
                                                                      Duration.ofSeconds(10), 3, Set.of(500, 502, 503, 504));

    public BreakerSettings {
        failureStatuses = Set.copyOf(failureStatuses);
    }

    static BreakerSettings parse(ConfigView b) {
        if (!b.exists()) {
            return DEFAULT;
        }
        String window = b.string("window").orElse("count").toLowerCase(Locale.ROOT);
        if (!window.equals("count") && !window.equals("time")) {
            throw b.get("window").invalid("expected count or time, got '" + window + "'");
        }
        List<String> statuses = b.strings("failure_statuses");
        Set<Integer> failureStatuses = new LinkedHashSet<>();
        for (int i = 0; i < statuses.size(); i++) {
            if (!statuses.get(i).matches("[1-5]\\d\\d")) {
                throw new ConfigException(b.get("failure_statuses").key() + "[" + i + "]",
                                          "expected an HTTP status, got '" + statuses.get(i) + "'");
            }
            failureStatuses.add(Integer.parseInt(statuses.get(i)));
        }
        return new BreakerSettings(
                b.bool("enabled").orElse(true),
                window.equals("time"),
                (int) b.integer("window_size", 1, 10_000).orElse((long) DEFAULT.windowSize()).longValue(),
                (int) b.integer("minimum_calls", 1, 10_000).orElse((long) DEFAULT.minimumCalls()).longValue(),
                b.integer("failure_rate", 1, 100).map(Long::floatValue).orElse(DEFAULT.failureRate()),
                b.positiveDuration("slow_call_duration").orElse(DEFAULT.slowCallDuration()),
                b.integer("slow_call_rate", 1, 100).map(Long::floatValue).orElse(DEFAULT.slowCallRate()),
                b.positiveDuration("wait_in_open").orElse(DEFAULT.waitInOpen()),
                (int) b.integer("half_open_calls", 1, 1000).orElse((long) DEFAULT.halfOpenCalls()).longValue(),
                statuses.isEmpty() ? DEFAULT.failureStatuses() : failureStatuses);
    }
}
