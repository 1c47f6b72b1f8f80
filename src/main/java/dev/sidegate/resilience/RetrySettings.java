package dev.sidegate.resilience;

import java.time.Duration;
import java.util.List;
import java.util.Set;

import dev.sidegate.config.ConfigView;

/**
 * When a route retries a failed upstream call. Only idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) are
 * retried, only when no request body bytes were sent, and never past the route's total timeout.
 *
 * @param attempts         retries after the first try (0: none)
 * @param backoff          base delay, doubled per retry, with full jitter
 * @param onConnectFailure retry when no connection could be made (refused, unresolvable, connect timeout)
 * @param onStatuses       also retry when the upstream answers one of these statuses
 */
public record RetrySettings(int attempts, Duration backoff, boolean onConnectFailure, Set<Integer> onStatuses) {
    public static final RetrySettings DEFAULT = new RetrySettings(1, Duration.ofMillis(25), true, Set.of());
    static final Set<String> IDEMPOTENT = Set.of("GET", "HEAD", "OPTIONS", "PUT", "DELETE");

    public RetrySettings {
        onStatuses = Set.copyOf(onStatuses);
    }

    public static RetrySettings parse(ConfigView retry) {
        if (!retry.exists()) {
            return DEFAULT;
        }
        int attempts = (int) retry.integer("attempts", 0, 10).orElse(1L).longValue();
        Duration backoff = retry.duration("backoff").orElse(DEFAULT.backoff());
        List<String> on = retry.strings("conditions"); // not "on": YAML 1.1 reads that key as the boolean true
        boolean connect = on.isEmpty();
        java.util.Set<Integer> statuses = new java.util.HashSet<>();
        for (int i = 0; i < on.size(); i++) {
            String value = on.get(i);
            if (value.equals("connect_failure")) {
                connect = true;
            } else if (value.matches("5\\d\\d")) {
                statuses.add(Integer.parseInt(value));
            } else {
                throw new dev.sidegate.config.ConfigException(retry.get("conditions").key() + "[" + i + "]",
                        "expected connect_failure or a 5xx status, got '" + value + "'");
            }
        }
        return new RetrySettings(attempts, backoff, connect, statuses);
    }
}
