package dev.sidegate.ratelimit;

import java.net.InetAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

import dev.sidegate.proxy.Digests;

/**
 * The hashed keys of recent clients, so that a client's key is hashed once rather than on every request (a
 * SHA-256 per request was a visible share of the limited path's profile). Client keys are hashed so that Redis
 * holds bounded keys and no user ids; this cache holds what the request path had in memory anyway, and API keys,
 * which are secrets, are hashed per request and never kept. Bounded: emptied when full (it is a cache, never the
 * source of a decision).
 */
final class ClientKeys {
    static final int MAX_ENTRIES = 10_000;

    private final Map<Object, String> keys = new ConcurrentHashMap<>();

    String forAddress(InetAddress address) {
        return cached(address, a -> hash("ip:" + ((InetAddress) a).getHostAddress()));
    }

    String forSubject(String subject) {
        return cached("sub:" + subject, s -> hash((String) s));
    }

    static String forApiKey(String apiKey) {
        return hash("key:" + apiKey);
    }

    private String cached(Object client, Function<Object, String> hash) {
        String key = keys.get(client);
        if (key == null) {
            if (keys.size() >= MAX_ENTRIES) {
                keys.clear();
            }
            key = keys.computeIfAbsent(client, hash);
        }
        return key;
    }

    int size() {
        return keys.size();
    }

    private static String hash(String client) {
        return Digests.sha256Base64(client).substring(0, 22);
    }
}
