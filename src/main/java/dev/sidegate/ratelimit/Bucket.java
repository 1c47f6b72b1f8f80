package dev.sidegate.ratelimit;

/**
 * One bucket a request must take a token from.
 *
 * @param client the client key (subject, API key or IP), hashed
 * @param policy the policy name shown in RateLimit headers: the tier, or the route limit's path prefix
 * @param scope  what the bucket counts: {@code tier:<name>} or {@code route:<prefix>}
 * @param limit  its shape
 */
public record Bucket(String client, String policy, String scope, Limit limit) {
}
