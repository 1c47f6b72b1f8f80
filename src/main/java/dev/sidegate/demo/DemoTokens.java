package dev.sidegate.demo;

import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;

/**
 * The demo's identity provider: a fresh RSA key per run, its JWKS, and two signed tokens. The issuer and audience
 * match {@code sidecar-config/demo.yaml}.
 */
final class DemoTokens {
    static final String ISSUER = "https://idp.demo.sidegate";
    static final String AUDIENCE = "sidegate-demo";
    private static final Duration LIFETIME = Duration.ofHours(12);

    private final RSAKey key;
    private final String userToken;
    private final String adminToken;

    private DemoTokens(RSAKey key) {
        this.key = key;
        this.userToken = sign(claims("demo-user", List.of("viewer"), List.of("orders:read"), "premium"));
        this.adminToken = sign(claims("demo-admin", List.of("admin", "billing"), List.of("orders:read", "orders:write"), "premium"));
    }

    static DemoTokens create() {
        try {
            return new DemoTokens(new RSAKeyGenerator(2048).keyID("demo-" + Instant.now().getEpochSecond()).generate());
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    String jwksJson() {
        return new JWKSet(key).toPublicJWKSet().toString();
    }

    String userToken() {
        return userToken;
    }

    String adminToken() {
        return adminToken;
    }

    private static JWTClaimsSet claims(String subject, List<String> roles, List<String> permissions, String tier) {
        Instant now = Instant.now();
        return new JWTClaimsSet.Builder()
                .issuer(ISSUER)
                .audience(AUDIENCE)
                .subject(subject)
                .claim("org_id", "demo-org")
                .claim("roles", roles)
                .claim("permissions", permissions)
                .claim("tier", tier)
                .issueTime(Date.from(now))
                .expirationTime(Date.from(now.plus(LIFETIME)))
                .build();
    }

    private String sign(JWTClaimsSet claims) {
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(), claims);
            jwt.sign(new RSASSASigner(key));
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }
}
