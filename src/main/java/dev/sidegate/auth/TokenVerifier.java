package dev.sidegate.auth;

import java.net.MalformedURLException;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.jwk.source.RateLimitReachedException;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.BadJWSException;
import com.nimbusds.jose.proc.JWSKeySelector;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import com.nimbusds.jwt.proc.ExpiredJWTException;
import dev.sidegate.config.ConfigException;
import dev.sidegate.config.Messages;
import dev.sidegate.proxy.Identity;
import dev.sidegate.proxy.ReadinessCheck;

/**
 * Verifies bearer tokens with Nimbus JOSE+JWT: signature with an allow-listed algorithm for the key type, then
 * {@code exp} (required), {@code nbf}, {@code iss} and {@code aud} with clock skew, then the claims become an
 * {@link Identity} and identity headers. Verified tokens are cached until they expire.
 */
final class TokenVerifier implements ReadinessCheck, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(TokenVerifier.class.getName());
    static final Set<JWSAlgorithm> ASYMMETRIC = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512,
                                                        JWSAlgorithm.PS256, JWSAlgorithm.ES256, JWSAlgorithm.ES384);
    static final Set<JWSAlgorithm> SYMMETRIC = Set.of(JWSAlgorithm.HS256);
    private static final int MAX_TOKEN_LENGTH = 16 * 1024;

    private final AuthSettings settings;
    private final DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
    private final JWKSource<SecurityContext> keys;
    private final VerifiedTokenCache cache;
    private final boolean remoteKeys;
    private final AtomicBoolean keysLoaded = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile String keysDetail = "not fetched yet";

    /** The outcome of verifying one token. */
    sealed interface Result permits Verified, Invalid, KeysUnavailable {
    }

    /**
     * @param identity  who the token says the caller is
     * @param headers   identity headers to set upstream, in order
     * @param notBefore start of validity, skew applied (null: none)
     * @param expiresAt end of validity, skew applied
     */
    record Verified(Identity identity, List<Map.Entry<String, String>> headers, Instant notBefore, Instant expiresAt)
            implements Result {
        boolean validAt(Instant now) {
            return (notBefore == null || !now.isBefore(notBefore)) && now.isBefore(expiresAt);
        }
    }

    /** The token is not acceptable; the reason is safe to show (it never contains the token). */
    record Invalid(String reason) implements Result {
    }

    /** Keys could not be obtained (JWKS unreachable and nothing cached). */
    record KeysUnavailable() implements Result {
    }

    TokenVerifier(AuthSettings settings) {
        this.settings = settings;
        this.cache = new VerifiedTokenCache(settings.cacheSize());
        switch (settings.keys()) {
            case AuthSettings.Jwks jwks -> {
                keys = remoteJwks(jwks);
                remoteKeys = true;
                processor.setJWSKeySelector(new JWSVerificationKeySelector<>(ASYMMETRIC, keys));
            }
            case AuthSettings.PublicKeyFile file -> {
                JWK key = PemPublicKeys.read("auth.public_key", file.file());
                keys = new ImmutableJWKSet<>(new JWKSet(key));
                remoteKeys = false;
                processor.setJWSKeySelector(singleKey(key, ASYMMETRIC));
            }
            case AuthSettings.HmacSecret hmac -> {
                OctetSequenceKey key = new OctetSequenceKey.Builder(
                        hmac.secret().getBytes(java.nio.charset.StandardCharsets.UTF_8)).build();
                keys = new ImmutableJWKSet<>(new JWKSet(key));
                remoteKeys = false;
                processor.setJWSKeySelector(singleKey(key, SYMMETRIC));
                LOG.log(System.Logger.Level.WARNING, "auth uses a shared HMAC secret (SIDEGATE_JWT_HMAC_SECRET): "
                        + "for development only");
            }
        }
        DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(
                new HashSet<>(settings.audiences()),
                new JWTClaimsSet.Builder().issuer(settings.issuer()).build(),
                Set.of("exp", "sub"),
                null);
        claims.setMaxClockSkew((int) settings.clockSkew().toSeconds());
        processor.setJWTClaimsSetVerifier(claims);
        if (remoteKeys) {
            fetchKeysUntilLoaded();
        } else {
            keysLoaded.set(true);
            keysDetail = "static key";
        }
    }

    /**
     * One configured key, whatever {@code kid} the token names (a PEM file or a secret has none), for the allowed
     * algorithms of its type only: an RS256 key never verifies an HS256 token.
     */
    private static JWSKeySelector<SecurityContext> singleKey(JWK key, Set<JWSAlgorithm> allowed) {
        java.security.Key verificationKey;
        try {
            verificationKey = switch (key) {
                case RSAKey rsa -> rsa.toPublicKey();
                case ECKey ec -> ec.toPublicKey();
                case OctetSequenceKey oct -> oct.toSecretKey("HmacSHA256");
                default -> throw new IllegalArgumentException("unsupported key type " + key.getKeyType());
            };
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
        Set<JWSAlgorithm> forType = new HashSet<>();
        for (JWSAlgorithm alg : allowed) {
            boolean matches = switch (key) {
                case RSAKey rsa -> JWSAlgorithm.Family.RSA.contains(alg);
                case ECKey ec -> JWSAlgorithm.Family.EC.contains(alg) && ec.getCurve().equals(curveOf(alg));
                default -> JWSAlgorithm.Family.HMAC_SHA.contains(alg);
            };
            if (matches) {
                forType.add(alg);
            }
        }
        return (header, context) -> forType.contains(header.getAlgorithm()) ? List.of(verificationKey) : List.of();
    }

    private static com.nimbusds.jose.jwk.Curve curveOf(JWSAlgorithm alg) {
        return JWSAlgorithm.ES384.equals(alg) ? com.nimbusds.jose.jwk.Curve.P_384 : com.nimbusds.jose.jwk.Curve.P_256;
    }

    private static JWKSource<SecurityContext> remoteJwks(AuthSettings.Jwks jwks) {
        long ttl = jwks.cacheTtl().toMillis();
        java.net.URL url;
        try {
            url = jwks.url().toURL();
        } catch (MalformedURLException | IllegalArgumentException e) {
            throw new ConfigException("auth.jwks_url", "malformed URL " + jwks.url() + ": " + Messages.oneLine(e));
        }
        // Nimbus requires refresh-ahead time + refresh timeout <= time-to-live; short TTLs get proportionate values.
        return JWKSourceBuilder.<SecurityContext>create(url, new DefaultResourceRetriever(2000, 2000, 512 * 1024))
                .cache(ttl, Math.min(15_000, ttl / 4))
                .refreshAheadCache(Math.min(30_000, ttl / 5), false)
                .rateLimited(jwks.refreshMinInterval().toMillis())
                .outageTolerant(true)
                .retrying(true)
                .build();
    }

    /** Fetches the JWKS once now; until it succeeds, readiness is false and a background thread keeps trying. */
    private void fetchKeysUntilLoaded() {
        if (tryFetch()) {
            return;
        }
        LOG.log(System.Logger.Level.WARNING, "JWKS " + url() + " not available yet (" + keysDetail
                + "); readiness stays false until it is");
        Thread.ofVirtual().name("sidegate-jwks-fetch").start(() -> {
            long delay = 500;
            while (!closed.get() && !keysLoaded.get()) {
                java.util.concurrent.locks.LockSupport.parkNanos(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(delay));
                if (tryFetch()) {
                    LOG.log(System.Logger.Level.INFO, "JWKS " + url() + " loaded");
                    return;
                }
                delay = Math.min(delay * 2, 15_000);
            }
        });
    }

    private boolean tryFetch() {
        try {
            int count = keys.get(new JWKSelector(new JWKMatcher.Builder().build()), null).size();
            keysLoaded.set(true);
            keysDetail = "loaded";
            if (count == 0) {
                keysDetail = "loaded, but the key set is empty";
            }
            return true;
        } catch (KeySourceException e) {
            keysDetail = "unavailable: " + Messages.oneLine(e);
            return false;
        }
    }

    private String url() {
        return settings.keys() instanceof AuthSettings.Jwks j ? j.url().toString() : "";
    }

    Result verify(String token) {
        Instant now = Instant.now();
        Optional<Verified> cached = cache.get(token, now);
        if (cached.isPresent()) {
            return cached.get();
        }
        if (token.length() > MAX_TOKEN_LENGTH) {
            return new Invalid("the token is too long");
        }
        JWTClaimsSet claims;
        try {
            claims = processor.process(token, null);
        } catch (ParseException e) {
            return new Invalid("the token is not a well-formed JWT");
        } catch (RateLimitReachedException e) {
            return new Invalid("no key matches the token's key id");
        } catch (KeySourceException e) {
            return keysLoaded.get() ? new Invalid("no key matches the token's key id") : new KeysUnavailable();
        } catch (BadJOSEException e) {
            return new Invalid(describe(e, token));
        } catch (JOSEException | RuntimeException e) {
            return new Invalid("the token's signature cannot be checked");
        }
        Verified verified = toVerified(claims);
        cache.put(token, verified, now);
        return verified;
    }

    private Verified toVerified(JWTClaimsSet claims) {
        Map<String, Object> all = new LinkedHashMap<>();
        claims.getClaims().forEach((name, value) -> {
            if (value != null) {
                all.put(name, value);
            }
        });
        Set<String> permissions = new HashSet<>();
        for (String claim : settings.permissionsClaims()) {
            Object value = claims.getClaim(claim);
            if (value instanceof String s) {
                for (String p : s.trim().split("\\s+")) {
                    if (!p.isEmpty()) {
                        permissions.add(p);
                    }
                }
            } else if (value instanceof Collection<?> list) {
                list.forEach(p -> permissions.add(String.valueOf(p)));
            }
        }
        Object tierValue = claims.getClaim(settings.tierClaim());
        Optional<String> tier = tierValue instanceof String s && !s.isBlank() ? Optional.of(s) : Optional.empty();
        Instant expiresAt = claims.getExpirationTime().toInstant();
        Identity identity = new Identity(claims.getSubject(), permissions, tier, all, expiresAt);

        List<Map.Entry<String, String>> headers = new ArrayList<>();
        settings.claimHeaders().forEach((claim, header) -> {
            Object value = claims.getClaim(claim);
            if (value != null) {
                String rendered = headerValue(value);
                if (!rendered.isEmpty()) {
                    headers.add(Map.entry(header, rendered));
                }
            }
        });
        Duration skew = settings.clockSkew();
        Instant notBefore = claims.getNotBeforeTime() == null ? null : claims.getNotBeforeTime().toInstant().minus(skew);
        return new Verified(identity, List.copyOf(headers), notBefore, expiresAt.plus(skew));
    }

    /** Arrays joined with commas (never base64), objects as JSON, control characters dropped. */
    static String headerValue(Object value) {
        String text;
        if (value instanceof Collection<?> list) {
            List<String> parts = new ArrayList<>(list.size());
            list.forEach(v -> parts.add(String.valueOf(v)));
            text = String.join(",", parts);
        } else if (value instanceof Map<?, ?> map) {
            @SuppressWarnings("unchecked")
            Map<String, Object> object = (Map<String, Object>) map;
            text = JSONObjectUtils.toJSONString(object);
        } else if (value instanceof java.util.Date date) {
            text = String.valueOf(date.toInstant().getEpochSecond());
        } else {
            text = String.valueOf(value);
        }
        StringBuilder clean = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 0x20 && c != 0x7F && c < 0x100) {
                clean.append(c);
            }
        }
        return clean.toString().trim();
    }

    private String describe(BadJOSEException e, String token) {
        String m = e.getMessage() == null ? "" : e.getMessage();
        if (e instanceof ExpiredJWTException) {
            return "the token has expired";
        }
        if (e instanceof BadJWSException) {
            return "the token's signature does not verify";
        }
        if (e instanceof BadJWTException) {
            if (m.contains("before use time")) {
                return "the token is not valid yet";
            }
            if (m.contains("iss claim")) {
                return "the token's issuer is not accepted";
            }
            if (m.contains("aud claim")) {
                return "the token's audience is not accepted";
            }
            if (m.startsWith("JWT missing required claims")) {
                return "the token lacks required claims " + m.substring(m.indexOf('[')).replace(" ", "");
            }
            return "the token's claims are not accepted";
        }
        if (m.contains("Unsecured") || m.contains("Plain JWT")) {
            return "unsigned tokens are not accepted";
        }
        if (m.startsWith("Encrypted JWT") || m.startsWith("JWE")) {
            return "encrypted tokens are not accepted";
        }
        if (m.contains("Another algorithm expected, or no matching key")) {
            return acceptedAlgorithm(token) ? "no key matches the token's key id" : "the token's algorithm is not accepted";
        }
        if (m.contains("typ")) {
            return "the token's type header is not accepted";
        }
        return "the token is not accepted";
    }

    private boolean acceptedAlgorithm(String token) {
        try {
            JWSAlgorithm alg = com.nimbusds.jwt.SignedJWT.parse(token).getHeader().getAlgorithm();
            return (settings.keys() instanceof AuthSettings.HmacSecret ? SYMMETRIC : ASYMMETRIC).contains(alg);
        } catch (ParseException e) {
            return false;
        }
    }

    @Override
    public Status readiness() {
        return new Status(remoteKeys ? "jwks" : "auth keys", keysLoaded.get(), keysDetail);
    }

    boolean remoteKeys() {
        return remoteKeys;
    }

    @Override
    public void close() {
        closed.set(true);
    }
}
