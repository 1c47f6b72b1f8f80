package dev.sidegate.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Base64;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tokens that verified recently, keyed by their SHA-256 (the token itself is never kept), so a client that
 * reuses its token is not signature-checked on every request. Bounded: expired entries go first, then arbitrary
 * ones. An entry is used only inside its token's validity window.
 */
final class VerifiedTokenCache {
    private final int maxEntries;
    private final Map<String, TokenVerifier.Verified> entries = new ConcurrentHashMap<>();

    VerifiedTokenCache(int maxEntries) {
        this.maxEntries = maxEntries;
    }

    Optional<TokenVerifier.Verified> get(String token, Instant now) {
        if (maxEntries == 0) {
            return Optional.empty();
        }
        String key = key(token);
        TokenVerifier.Verified verified = entries.get(key);
        if (verified == null) {
            return Optional.empty();
        }
        if (!verified.validAt(now)) {
            entries.remove(key, verified);
            return Optional.empty();
        }
        return Optional.of(verified);
    }

    void put(String token, TokenVerifier.Verified verified, Instant now) {
        if (maxEntries == 0) {
            return;
        }
        if (entries.size() >= maxEntries) {
            evict(now);
        }
        entries.put(key(token), verified);
    }

    int size() {
        return entries.size();
    }

    private void evict(Instant now) {
        entries.values().removeIf(v -> !v.validAt(now));
        Iterator<String> keys = entries.keySet().iterator();
        while (entries.size() >= maxEntries && keys.hasNext()) {
            keys.next();
            keys.remove();
        }
    }

    private static String key(String token) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.US_ASCII));
            return Base64.getEncoder().encodeToString(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
