package dev.sidegate.ratelimit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import dev.sidegate.proxy.Digests;
import dev.sidegate.telemetry.SidegateMetrics;

/**
 * Token buckets in Redis: one Lua script per request checks and takes every bucket atomically, with Redis' clock.
 * One round trip (EVALSHA); after a Redis restart has flushed the script cache, the answer NOSCRIPT is followed by
 * one EVAL, which also loads the script again. Keys carry the client in a hash tag so that all buckets of a request
 * share a Cluster slot, and expire once a bucket would be full again.
 */
final class RedisRateLimiter implements RateLimiter {
    static final String KEY_PREFIX = "sidegate:rl:";
    private final ScriptCalls redis;
    private final SidegateMetrics metrics;
    private final String script;
    private final String sha;
    /** The script's three arguments per limit, formatted once: limits come from the configuration, so few. */
    private final Map<Limit, String[]> arguments = new ConcurrentHashMap<>();

    RedisRateLimiter(ScriptCalls redis, SidegateMetrics metrics) {
        this.redis = redis;
        this.metrics = metrics;
        this.script = loadScript();
        this.sha = Digests.sha1Hex(script);
    }

    @Override
    public Decision acquire(List<Bucket> buckets) {
        String[] keys = new String[buckets.size()];
        String[] args = new String[buckets.size() * 3];
        for (int i = 0; i < buckets.size(); i++) {
            Bucket b = buckets.get(i);
            keys[i] = key(b);
            String[] limitArgs = arguments.computeIfAbsent(b.limit(), RedisRateLimiter::scriptArguments);
            System.arraycopy(limitArgs, 0, args, i * 3, 3);
        }
        List<Object> reply;
        long start = System.nanoTime();
        try {
            reply = redis.run(script, sha, keys, args);
            metrics.redisCall(System.nanoTime() - start, false);
        } catch (ScriptCalls.CallFailed e) {
            metrics.redisCall(System.nanoTime() - start, true);
            return new Unavailable(e.getMessage());
        }
        if (reply.size() != 1 + 2 * buckets.size()) {
            return new Unavailable("Redis answered the token-bucket script with " + reply.size() + " values for "
                    + buckets.size() + " buckets");
        }
        List<BucketState> states = new ArrayList<>(buckets.size());
        for (int i = 0; i < buckets.size(); i++) {
            states.add(new BucketState(buckets.get(i), (Long) reply.get(1 + i * 2), (Long) reply.get(2 + i * 2)));
        }
        return (Long) reply.get(0) == 1L ? new Allowed(states) : new Denied(states);
    }

    /** Capacity, refill rate in tokens per microsecond, TTL in milliseconds (what token-buckets.lua reads). */
    static String[] scriptArguments(Limit limit) {
        return new String[] {Long.toString(limit.requests()), String.format(Locale.ROOT, "%.17g", limit.ratePerMicro()),
                             Long.toString(limit.window().toMillis() + 1000)};
    }

    static String key(Bucket b) {
        return KEY_PREFIX + "{" + b.client() + "}:" + b.scope();
    }

    private static String loadScript() {
        try (InputStream in = RedisRateLimiter.class.getResourceAsStream("/sidegate/token-buckets.lua")) {
            if (in == null) {
                throw new IllegalStateException("token-buckets.lua is missing from the build");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
