package dev.sidegate.ratelimit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import dev.sidegate.config.Messages;
import dev.sidegate.telemetry.SidegateMetrics;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisScriptingAsyncCommands;

/**
 * Token buckets in Redis: one Lua script per request checks and takes every bucket atomically, with Redis' clock.
 * One round trip (EVALSHA); after a Redis restart has flushed the script cache, the answer NOSCRIPT is followed by
 * one EVAL, which also loads the script again. Keys carry the client in a hash tag so that all buckets of a request
 * share a Cluster slot, and expire once a bucket would be full again.
 */
final class RedisRateLimiter implements RateLimiter {
    static final String KEY_PREFIX = "sidegate:rl:";
    private final RedisConnector redis;
    private final SidegateMetrics metrics;
    private final String script;
    private final String sha;
    /** The script's three arguments per limit, formatted once: limits come from the configuration, so few. */
    private final java.util.Map<Limit, String[]> arguments = new java.util.concurrent.ConcurrentHashMap<>();

    RedisRateLimiter(RedisConnector redis, SidegateMetrics metrics) {
        this.redis = redis;
        this.metrics = metrics;
        this.script = loadScript();
        this.sha = dev.sidegate.proxy.Digests.sha1Hex(script);
    }

    @Override
    public Decision acquire(List<Bucket> buckets) {
        Optional<RedisScriptingAsyncCommands<String, String>> connected = redis.commands();
        if (connected.isEmpty()) {
            return new Unavailable("not connected: " + redis.lastError());
        }
        RedisScriptingAsyncCommands<String, String> commands = connected.get();
        String[] keys = new String[buckets.size()];
        String[] args = new String[buckets.size() * 3];
        for (int i = 0; i < buckets.size(); i++) {
            Bucket b = buckets.get(i);
            keys[i] = key(b);
            String[] limitArgs = arguments.computeIfAbsent(b.limit(), RedisRateLimiter::scriptArguments);
            System.arraycopy(limitArgs, 0, args, i * 3, 3);
        }
        List<Long> reply;
        long start = System.nanoTime();
        try {
            try {
                reply = await(commands.evalsha(sha, ScriptOutputType.MULTI, keys, args));
            } catch (RedisNoScriptException e) {
                reply = await(commands.eval(script, ScriptOutputType.MULTI, keys, args));
            }
            metrics.redisCall(System.nanoTime() - start, false);
        } catch (RedisException e) {
            metrics.redisCall(System.nanoTime() - start, true);
            return new Unavailable(Messages.oneLine(e));
        }
        List<BucketState> states = new ArrayList<>(buckets.size());
        for (int i = 0; i < buckets.size(); i++) {
            states.add(new BucketState(buckets.get(i), reply.get(1 + i * 2), reply.get(2 + i * 2)));
        }
        return reply.get(0) == 1L ? new Allowed(states) : new Denied(states);
    }

    /** The reply, or the command's failure as Lettuce's own exception (a timeout is RedisCommandTimeoutException). */
    private static <T> T await(java.util.concurrent.CompletionStage<T> command) {
        try {
            return command.toCompletableFuture().get();
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RedisException redis) {
                throw redis;
            }
            throw new RedisException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RedisException("interrupted while waiting for Redis");
        } catch (java.util.concurrent.CancellationException e) {
            throw new RedisException("the Redis command was cancelled");
        }
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
