package dev.sidegate.ratelimit;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.sidegate.proxy.Exchange;
import dev.sidegate.proxy.Headers;
import dev.sidegate.proxy.Identity;
import dev.sidegate.proxy.Digests;
import dev.sidegate.proxy.Problem;
import dev.sidegate.proxy.ProxyRequest;
import dev.sidegate.proxy.ProxyResponse;
import dev.sidegate.proxy.Stage;
import dev.sidegate.proxy.RouteTable;
import dev.sidegate.telemetry.SidegateMetrics;

/**
 * Takes a token from the client's tier bucket and from its bucket for the longest matching route limit, all or
 * nothing, and answers 429 when one is empty. The client is the token's subject, else the API-key header (when
 * configured), else the client IP; requests whose token was rejected are limited by IP, so token-guessing floods are
 * throttled too. Responses on limited routes carry the IETF {@code RateLimit-Policy} and {@code RateLimit} fields.
 */
final class RateLimitStage implements Stage {
    public static final String QUOTA_EXCEEDED = "https://iana.org/assignments/http-problem-types#quota-exceeded";

    private final RateLimitSettings settings;
    private final List<Map.Entry<String, Limit>> routeLimitsLongestFirst;
    private final RateLimiter limiter;
    private final boolean caseSensitive;
    private final SidegateMetrics metrics;

    /** @param routeLimits the route limits that can apply under this stage's route, longest prefix first */
    RateLimitStage(RateLimitSettings settings, List<Map.Entry<String, Limit>> routeLimits, RateLimiter limiter,
                   boolean caseSensitive, SidegateMetrics metrics) {
        this.settings = settings;
        this.routeLimitsLongestFirst = List.copyOf(routeLimits);
        this.limiter = limiter;
        this.caseSensitive = caseSensitive;
        this.metrics = metrics;
    }

    @Override
    public String name() {
        return "rate-limit";
    }

    @Override
    public ProxyResponse apply(ProxyRequest request, Chain chain) {
        Exchange exchange = chain.exchange();
        List<Bucket> buckets = buckets(exchange, request);
        if (buckets.isEmpty()) {
            return chain.proceed(request);
        }
        buckets.stream().filter(b -> b.scope().startsWith("tier:")).findFirst()
                .ifPresent(b -> exchange.annotate("rate_limit.tier", b.policy()));
        return switch (limiter.acquire(buckets)) {
            case RateLimiter.Allowed allowed -> {
                String decision = allowed.fallback() ? "fallback_allowed" : "allowed";
                metrics.rateLimitDecision(decision);
                exchange.annotate("rate_limit.decision", decision);
                countPerLimit(allowed.buckets(), "allowed");
                yield withFields(chain.proceed(request), enforced(allowed.buckets()));
            }
            case RateLimiter.Denied denied -> {
                List<RateLimiter.BucketState> enforced = enforced(denied.buckets());
                if (enforced.stream().noneMatch(RateLimitStage::empty)) {
                    // Only limits in shadow mode are empty: admitted, and the buckets stay as a denial leaves them.
                    String decision = denied.fallback() ? "fallback_shadow_denied" : "shadow_denied";
                    metrics.rateLimitDecision(decision);
                    exchange.annotate("rate_limit.decision", decision);
                    exchange.annotate("rate_limit.shadow_denied_by", String.join(",", denied.buckets().stream()
                            .filter(RateLimitStage::empty).map(st -> st.bucket().policy()).toList()));
                    countPerLimit(denied.buckets(), "shadow_denied");
                    yield withFields(chain.proceed(request), enforced);
                }
                String decision = denied.fallback() ? "fallback_denied" : "denied";
                metrics.rateLimitDecision(decision);
                countPerLimit(denied.buckets(), "denied");
                exchange.annotate("rate_limit.decision", decision);
                long retryAfter = Math.max(1, ceilSeconds(enforced.stream().filter(RateLimitStage::empty)
                                                                  .mapToLong(RateLimiter.BucketState::waitMicros).max().orElse(0)));
                BucketStateNames empty = emptiest(enforced);
                Problem problem = new Problem(429, QUOTA_EXCEEDED, "Quota exceeded",
                        "rate limit \"" + empty.policy() + "\" exceeded: " + empty.requests() + " requests per "
                                + empty.windowSeconds() + "s; retry in " + retryAfter + "s",
                        withRateLimitFields(Headers.builder(), enforced)
                                .set("Retry-After", Long.toString(retryAfter)).build());
                yield exchange.problem(problem);
            }
            case RateLimiter.Unavailable unavailable -> {
                metrics.rateLimitDecision("unavailable");
                exchange.annotate("rate_limit.decision", "unavailable");
                yield exchange.problem(Problem.of(503, "rate-limit-unavailable", "Rate limiting unavailable",
                                                  "shared rate limits cannot be checked and the policy is to deny")
                                               .withHeader("Retry-After", "1"));
            }
        };
    }

    private List<Bucket> buckets(Exchange exchange, ProxyRequest request) {
        Optional<Identity> identity = exchange.identity();
        // A request whose credentials auth rejected has no identity to claim: by IP, whatever API key it carries.
        String client = identity.map(i -> "sub:" + i.subject())
                .or(() -> exchange.hasRejectedCredentials() ? Optional.empty()
                        : settings.apiKeyHeader().flatMap(request::header).map(k -> "key:" + k))
                .orElseGet(() -> "ip:" + exchange.client().address().getHostAddress());
        String clientKey = hash(client);
        List<Bucket> buckets = new ArrayList<>(2);
        if (!settings.tiers().isEmpty()) {
            String tier = identity.flatMap(Identity::tier).filter(settings.tiers()::containsKey)
                    .orElse(RateLimitSettings.DEFAULT_TIER);
            buckets.add(new Bucket(clientKey, tier, "tier:" + tier, settings.tiers().get(tier)));
        }
        for (Map.Entry<String, Limit> route : routeLimitsLongestFirst) {
            if (RouteTable.covers(route.getKey(), request.path(), caseSensitive)) {
                buckets.add(new Bucket(clientKey, route.getKey(), "route:" + route.getKey(), route.getValue()));
                break;
            }
        }
        return buckets;
    }

    /**
     * Each limit's part in a decision: {@code allowed} on every limit a token was taken from; on a denial (which
     * takes no token anywhere) {@code denied} or {@code shadow_denied} on the limits that were empty, as they are
     * enforced or in shadow mode.
     */
    private void countPerLimit(List<RateLimiter.BucketState> states, String outcome) {
        for (RateLimiter.BucketState st : states) {
            boolean counts = switch (outcome) {
                case "allowed" -> true;
                case "shadow_denied" -> empty(st) && !st.bucket().limit().enforce();
                default -> empty(st) && st.bucket().limit().enforce();
            };
            if (counts) {
                metrics.limitDecision(st.bucket().policy(), outcome);
            }
        }
    }

    /** Shadow-mode limits never show in the RateLimit fields: clients see only what is enforced. */
    private static List<RateLimiter.BucketState> enforced(List<RateLimiter.BucketState> states) {
        return states.stream().filter(st -> st.bucket().limit().enforce()).toList();
    }

    private static boolean empty(RateLimiter.BucketState state) {
        return state.waitMicros() > 0;
    }

    private ProxyResponse withFields(ProxyResponse response, List<RateLimiter.BucketState> states) {
        return states.isEmpty() ? response
                : response.withHeaders(withRateLimitFields(response.headers().toBuilder(), states).build());
    }

    /** RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers-11), plus the legacy trio if enabled. */
    private Headers.Builder withRateLimitFields(Headers.Builder headers, List<RateLimiter.BucketState> states) {
        StringBuilder policy = new StringBuilder();
        StringBuilder limit = new StringBuilder();
        for (RateLimiter.BucketState s : states) {
            String name = "\"" + s.bucket().policy() + "\"";
            policy.append(policy.isEmpty() ? "" : ", ").append(name).append(";q=").append(s.bucket().limit().requests())
                    .append(";w=").append(s.bucket().limit().windowSeconds());
            limit.append(limit.isEmpty() ? "" : ", ").append(name).append(";r=").append(Math.max(0, s.remaining()))
                    .append(";t=").append(ceilSeconds(s.waitMicros()));
        }
        headers.set("RateLimit-Policy", policy.toString()).set("RateLimit", limit.toString());
        if (settings.legacyHeaders()) {
            RateLimiter.BucketState tightest = states.stream()
                    .min(Comparator.comparingLong(RateLimiter.BucketState::remaining)).orElseThrow();
            headers.set("X-RateLimit-Limit", Long.toString(tightest.bucket().limit().requests()))
                    .set("X-RateLimit-Remaining", Long.toString(Math.max(0, tightest.remaining())))
                    .set("X-RateLimit-Reset", Long.toString(ceilSeconds(tightest.waitMicros())));
        }
        return headers;
    }

    private record BucketStateNames(String policy, long requests, long windowSeconds) {
    }

    private static BucketStateNames emptiest(List<RateLimiter.BucketState> states) {
        RateLimiter.BucketState s = states.stream().max(Comparator.comparingLong(RateLimiter.BucketState::waitMicros)).orElseThrow();
        return new BucketStateNames(s.bucket().policy(), s.bucket().limit().requests(), s.bucket().limit().windowSeconds());
    }

    private static long ceilSeconds(long micros) {
        return (micros + 999_999) / 1_000_000;
    }

    /** Client keys are hashed: bounded key length, no user ids or API keys stored in Redis. */
    private static String hash(String client) {
        return Digests.sha256Base64(client).substring(0, 22);
    }
}
