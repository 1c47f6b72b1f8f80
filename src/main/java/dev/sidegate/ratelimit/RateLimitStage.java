package dev.sidegate.ratelimit;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.sidegate.proxy.Exchange;
import dev.sidegate.proxy.Headers;
import dev.sidegate.proxy.Identity;
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
    private final Map<String, Policy> tiers;
    private final List<Policy> routeLimitsLongestFirst;
    /** Every policy this stage can apply, by bucket scope, for the RateLimit fields. */
    private final Map<String, Policy> byScope;
    private final RateLimiter limiter;
    private final ClientKeys clientKeys;
    private final boolean caseSensitive;
    private final SidegateMetrics metrics;

    /**
     * A limit as this stage applies it, with the strings its buckets and response fields need, made once.
     *
     * @param policyField its member of the {@code RateLimit-Policy} field
     */
    private record Policy(String name, String scope, Limit limit, String quotedName, String policyField) {
        static Policy of(String name, String scope, Limit limit) {
            String quoted = "\"" + name + "\"";
            return new Policy(name, scope, limit, quoted, quoted + ";q=" + limit.requests() + ";w=" + limit.windowSeconds());
        }
    }

    /** @param routeLimits the route limits that can apply under this stage's route, longest prefix first */
    RateLimitStage(RateLimitSettings settings, List<Map.Entry<String, Limit>> routeLimits, RateLimiter limiter,
                   ClientKeys clientKeys, boolean caseSensitive, SidegateMetrics metrics) {
        this.settings = settings;
        Map<String, Policy> scopes = new HashMap<>();
        Map<String, Policy> tierPolicies = new HashMap<>();
        settings.tiers().forEach((tier, limit) -> {
            Policy p = Policy.of(tier, "tier:" + tier, limit);
            tierPolicies.put(tier, p);
            scopes.put(p.scope(), p);
        });
        List<Policy> routes = new ArrayList<>(routeLimits.size());
        for (Map.Entry<String, Limit> route : routeLimits) {
            Policy p = Policy.of(route.getKey(), "route:" + route.getKey(), route.getValue());
            routes.add(p);
            scopes.put(p.scope(), p);
        }
        this.tiers = Map.copyOf(tierPolicies);
        this.routeLimitsLongestFirst = List.copyOf(routes);
        this.byScope = Map.copyOf(scopes);
        this.limiter = limiter;
        this.clientKeys = clientKeys;
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
        Bucket first = buckets.get(0); // a tier's bucket, when there is one, comes first
        if (first.scope().startsWith("tier:")) {
            exchange.annotate("rate_limit.tier", first.policy());
        }
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
        Policy tier = null;
        Identity identity = exchange.identity().orElse(null);
        if (!tiers.isEmpty()) {
            tier = tiers.get(identity == null ? RateLimitSettings.DEFAULT_TIER
                                 : identity.tier().filter(tiers::containsKey).orElse(RateLimitSettings.DEFAULT_TIER));
        }
        Policy route = null;
        for (Policy p : routeLimitsLongestFirst) {
            if (RouteTable.covers(p.name(), request.path(), caseSensitive)) {
                route = p;
                break;
            }
        }
        if (tier == null && route == null) {
            return List.of();
        }
        String clientKey = clientKey(exchange, request, identity);
        List<Bucket> buckets = new ArrayList<>(2);
        if (tier != null) {
            buckets.add(new Bucket(clientKey, tier.name(), tier.scope(), tier.limit()));
        }
        if (route != null) {
            buckets.add(new Bucket(clientKey, route.name(), route.scope(), route.limit()));
        }
        return buckets;
    }

    /** The token's subject, else the API key (unless auth rejected the request's credentials), else the IP. */
    private String clientKey(Exchange exchange, ProxyRequest request, Identity identity) {
        if (identity != null) {
            return clientKeys.forSubject(identity.subject());
        }
        // A request whose credentials auth rejected has no identity to claim: by IP, whatever API key it carries.
        if (!exchange.hasRejectedCredentials() && settings.apiKeyHeader().isPresent()) {
            Optional<String> apiKey = request.header(settings.apiKeyHeader().get());
            if (apiKey.isPresent()) {
                return ClientKeys.forApiKey(apiKey.get());
            }
        }
        return clientKeys.forAddress(exchange.client().address());
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
        for (RateLimiter.BucketState st : states) {
            if (!st.bucket().limit().enforce()) {
                return states.stream().filter(s -> s.bucket().limit().enforce()).toList();
            }
        }
        return states;
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
            Policy p = byScope.get(s.bucket().scope());
            if (p == null) { // not one of this stage's limits: cannot happen, but the fields stay right if it does
                p = Policy.of(s.bucket().policy(), s.bucket().scope(), s.bucket().limit());
            }
            if (!policy.isEmpty()) {
                policy.append(", ");
                limit.append(", ");
            }
            policy.append(p.policyField());
            limit.append(p.quotedName()).append(";r=").append(Math.max(0, s.remaining()))
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
}
