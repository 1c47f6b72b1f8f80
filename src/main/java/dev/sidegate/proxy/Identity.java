package dev.sidegate.proxy;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Who made the request, as established by a verified token. Auth produces it; later stages read it
 * (the rate limiter keys and tiers by it, telemetry records the subject).
 *
 * @param subject     the token's {@code sub}
 * @param permissions permissions granted by the token (its permissions and scope claims)
 * @param tier        the client tier claim, if the token has one
 * @param claims      all claims of the token, read-only
 * @param expiresAt   when the token expires
 */
public record Identity(String subject, Set<String> permissions, Optional<String> tier, Map<String, Object> claims,
                       Instant expiresAt) {

    public Identity {
        permissions = Set.copyOf(permissions);
        claims = Map.copyOf(claims);
    }
}
