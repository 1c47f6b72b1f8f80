package dev.sidegate.auth;

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

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.RateLimitReachedException;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.BadJWSException;
import com.nimbusds.jose.proc.JWSKeySelector;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import com.nimbusds.jwt.proc.ExpiredJWTException;
import dev.sidegate.proxy.Identity;
import dev.sidegate.proxy.IdentityValues;
import dev.sidegate.proxy.ReadinessCheck;

/**
 * Verifies bearer tokens with Nimbus JOSE+JWT: signature with an allow-listed algorithm for the key type, then
 * {@code exp} (required), {@code nbf}, {@code iss} and {@code aud} with clock skew, then the claims become an
 * {@link Identity} and identity headers. Verified tokens are cached until they expire.
 */
final class TokenVerifier implements ReadinessCheck {
    private static final System.Logger LOG = System.getLogger(TokenVerifier.class.getName());
    static final Set<JWSAlgorithm> ASYMMETRIC = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512,
                                                        JWSAlgorithm.PS256, JWSAlgorithm.ES256, JWSAlgorithm.ES384);
    static final Set<JWSAlgorithm> SYMMETRIC = Set.of(JWSAlgorithm.HS256);
    private static final int MAX_TOKEN_LENGTH = 16 * 1024;

    private final AuthSettings settings;
    private final DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
    private final JWKSource<SecurityContext> keys;
    private final VerifiedTokenCache cache;
    private final RemoteKeys remote;

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

    /** @param remote the shared JWKS keys, when the key source is a JWKS URL */
    TokenVerifier(AuthSettings settings, RemoteKeys remote) {
        this.settings = settings;
        this.remote = remote;
        this.cache = new VerifiedTokenCache(settings.cacheSize());
        switch (settings.keys()) {
            case AuthSettings.Jwks jwks -> {
                keys = remote.source();
                processor.setJWSKeySelector(new StrongKeysOnly(keys));
            }
            case AuthSettings.PublicKeyFile file -> {
                JWK key = PemPublicKeys.read("auth.public_key", file.file());
                keys = new ImmutableJWKSet<>(new JWKSet(key));
                processor.setJWSKeySelector(singleKey(key, ASYMMETRIC));
            }
            case AuthSettings.HmacSecret hmac -> {
                OctetSequenceKey key = new OctetSequenceKey.Builder(
                        hmac.secret().getBytes(java.nio.charset.StandardCharsets.UTF_8)).build();
                keys = new ImmutableJWKSet<>(new JWKSet(key));
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
    }

    /** Keys of the JWKS for the allowed algorithms, without RSA keys under 2048 bits (the PEM path's rule too). */
    private static final class StrongKeysOnly extends JWSVerificationKeySelector<SecurityContext> {
        private static final int MIN_RSA_BITS = 2048;
        private final Set<String> reported = java.util.concurrent.ConcurrentHashMap.newKeySet();

        StrongKeysOnly(JWKSource<SecurityContext> keys) {
            super(ASYMMETRIC, keys);
        }

        @Override
        public List<java.security.Key> selectJWSKeys(com.nimbusds.jose.JWSHeader header, SecurityContext context)
                throws KeySourceException {
            List<java.security.Key> selected = new ArrayList<>();
            for (java.security.Key key : super.selectJWSKeys(header, context)) {
                if (key instanceof java.security.interfaces.RSAKey rsa && rsa.getModulus().bitLength() < MIN_RSA_BITS) {
                    String kid = String.valueOf(header.getKeyID());
                    if (reported.size() < 100 && reported.add(kid)) {
                        LOG.log(System.Logger.Level.WARNING, "ignoring JWKS key " + kid + ": RSA keys need at least "
                                + MIN_RSA_BITS + " bits, it has " + rsa.getModulus().bitLength());
                    }
                    continue;
                }
                selected.add(key);
            }
            return selected;
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

    Result verify(String token) {
        Instant now = Instant.now();
        Optional<Verified> cached = cache.get(token, now);
        if (cached.isPresent()) {
            return cached.get();
        }
        if (token.length() > MAX_TOKEN_LENGTH) {
            return new Invalid("the token is too long");
        }
        if (remote != null && !remote.loaded()) {
            return new KeysUnavailable(); // not even a fetch: start-up retries are RemoteKeys' own, and unthrottled
        }
        JWTClaimsSet claims;
        com.nimbusds.jwt.JWT jwt;
        try {
            jwt = com.nimbusds.jwt.JWTParser.parse(token);
            claims = processor.process(jwt, null);
        } catch (ParseException e) {
            return new Invalid("the token is not a well-formed JWT");
        } catch (RateLimitReachedException e) {
            return new Invalid("no key matches the token's key id");
        } catch (KeySourceException e) {
            return remote == null || remote.loaded() ? new Invalid("no key matches the token's key id") : new KeysUnavailable();
        } catch (BadJOSEException e) {
            return new Invalid(describe(e, token));
        } catch (JOSEException | RuntimeException e) {
            return new Invalid("the token's signature cannot be checked");
        }
        Optional<String> rejected = checkClaims(jwt, claims);
        if (rejected.isPresent()) {
            return new Invalid(rejected.get());
        }
        Verified verified = toVerified(claims);
        cache.put(token, verified);
        return verified;
    }

    /** The latest instant a time claim may name: the end of year 9999, far below where seconds overflow milliseconds. */
    private static final long MAX_EPOCH_SECONDS = 253_402_300_799L;

    /**
     * What the claims verifier cannot see: time claims as the token states them (Nimbus multiplies seconds by 1000
     * into a long, so a huge {@code nbf} can wrap into the past), and a {@code sub} that is present but empty.
     */
    private static Optional<String> checkClaims(com.nimbusds.jwt.JWT jwt, JWTClaimsSet claims) {
        Map<String, Object> raw;
        try {
            raw = jwt instanceof com.nimbusds.jwt.SignedJWT signed ? signed.getPayload().toJSONObject() : null;
        } catch (RuntimeException e) {
            raw = null;
        }
        if (raw == null) {
            return Optional.of("the token's claims are not a JSON object");
        }
        for (String name : List.of("exp", "nbf", "iat")) {
            if (raw.containsKey(name)) {
                Object value = raw.get(name);
                if (!(value instanceof Number number) || !Double.isFinite(number.doubleValue())
                        || number.doubleValue() < 0 || number.doubleValue() > MAX_EPOCH_SECONDS) {
                    return Optional.of("the token's " + name + " claim is not a time between 1970 and 9999");
                }
            }
        }
        String subject = claims.getSubject();
        if (subject == null || subject.isBlank()) {
            return Optional.of("the token's sub claim is empty");
        }
        return Optional.empty();
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
                String rendered = IdentityValues.encode(value);
                if (!rendered.isEmpty()) {
                    headers.add(Map.entry(header, rendered));
                }
            }
        });
        Duration skew = settings.clockSkew();
        Instant notBefore = claims.getNotBeforeTime() == null ? null : claims.getNotBeforeTime().toInstant().minus(skew);
        return new Verified(identity, List.copyOf(headers), notBefore, expiresAt.plus(skew));
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
        return remote == null ? new Status("auth keys", true, "static key") : new Status("jwks", remote.loaded(), remote.detail());
    }

}
