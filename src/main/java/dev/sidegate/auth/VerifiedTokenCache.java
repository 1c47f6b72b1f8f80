package dev.sidegate.auth;

import java.time.Instant;
import java.util.Optional;

import dev.sidegate.proxy.Digests;
import io.helidon.common.configurable.LruCache;

/**
 * Tokens that verified recently, keyed by their SHA-256 (the token itself is never kept), so a client that
 * reuses its token is not signature-checked on every request. Bounded, least recently used out first (Helidon's
 * LRU cache: no scan when full); an entry is used only inside its token's validity window.
 */
final class VerifiedTokenCache {
    private final LruCache<String, TokenVerifier.Verified> entries;

    /** @param maxEntries 0 remembers nothing */
    VerifiedTokenCache(int maxEntries) {
        this.entries = maxEntries == 0 ? null : LruCache.<String, TokenVerifier.Verified>builder().capacity(maxEntries).build();
    }

    Optional<TokenVerifier.Verified> get(String token, Instant now) {
        if (entries == null) {
            return Optional.empty();
        }
        String key = Digests.sha256Base64(token);
        Optional<TokenVerifier.Verified> verified = entries.get(key);
        if (verified.isPresent() && !verified.get().validAt(now)) {
            entries.remove(key);
            return Optional.empty();
        }
        return verified;
    }

    void put(String token, TokenVerifier.Verified verified) {
        if (entries != null) {
            entries.put(Digests.sha256Base64(token), verified);
        }
    }

    int size() {
        return entries == null ? 0 : entries.size();
    }
}
