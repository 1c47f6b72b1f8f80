package dev.sidegate.proxy;

import java.time.Duration;

/**
 * Left on the exchange by the resilience stage: the longest the next upstream attempt may wait for response
 * headers, so that retries never run past the route's total timeout.
 */
public record AttemptBudget(Duration responseTimeout) {
}
