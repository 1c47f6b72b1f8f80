package dev.sidegate.auth;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
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
    private final LruCache<TokenDigest, TokenVerifier.Verified> entries;

    /** The token's SHA-256 as four longs: compared in full, without the Base64 text a string key would need. */
    private record TokenDigest(long a, long b, long c, long d) {
        static TokenDigest of(String token) {
            ByteBuffer digest = ByteBuffer.wrap(Digests.sha256(token.getBytes(StandardCharsets.UTF_8)));
            return new TokenDigest(digest.getLong(), digest.getLong(), digest.getLong(), digest.getLong());
        }
    }

    /** @param maxEntries 0 remembers nothing */
    VerifiedTokenCache(int maxEntries) {
        this.entries = maxEntries == 0 ? null : LruCache.<TokenDigest, TokenVerifier.Verified>builder().capacity(maxEntries).build();
    }

    Optional<TokenVerifier.Verified> get(String token, Instant now) {
        if (entries == null) {
            return Optional.empty();
        }
        TokenDigest key = TokenDigest.of(token);
        Optional<TokenVerifier.Verified> verified = entries.get(key);
        if (verified.isPresent() && !verified.get().validAt(now)) {
            entries.remove(key);
            return Optional.empty();
        }
        return verified;
    }

    void put(String token, TokenVerifier.Verified verified) {
        if (entries != null) {
            entries.put(TokenDigest.of(token), verified);
        }
    }

    int size() {
        return entries == null ? 0 : entries.size();
    }
}
