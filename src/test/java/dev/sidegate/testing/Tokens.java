package dev.sidegate.testing;

import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;

/** Mints real signed JWTs with Nimbus for tests. */
public final class Tokens {
    public static final String ISSUER = "https://issuer.test";
    public static final String AUDIENCE = "sidegate-tests";

    private Tokens() {
    }

    public static RSAKey rsa(String kid) {
        try {
            return new RSAKeyGenerator(2048).keyID(kid).generate();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    public static ECKey ec(String kid) {
        try {
            return new ECKeyGenerator(Curve.P_256).keyID(kid).generate();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Standard valid claims for the subject; the customiser may change or remove any of them. */
    public static JWTClaimsSet.Builder claims(String subject) {
        Instant now = Instant.now();
        return new JWTClaimsSet.Builder()
                .subject(subject)
                .issuer(ISSUER)
                .audience(AUDIENCE)
                .issueTime(Date.from(now))
                .expirationTime(Date.from(now.plusSeconds(600)));
    }

    public static String sign(JWK key, JWSAlgorithm alg, JWTClaimsSet claims) {
        try {
            JWSSigner signer = switch (key) {
                case RSAKey rsa -> new RSASSASigner(rsa);
                case ECKey ec -> new ECDSASigner(ec);
                default -> throw new IllegalArgumentException(key.getKeyType().toString());
            };
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(key.getKeyID()).build(), claims);
            jwt.sign(signer);
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Signs a payload given as raw JSON, for claim values a claims builder cannot express ({@code "exp": null}). */
    public static String signRaw(RSAKey key, String payloadJson) {
        try {
            com.nimbusds.jose.JWSObject jws = new com.nimbusds.jose.JWSObject(
                    new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(),
                    new com.nimbusds.jose.Payload(payloadJson));
            jws.sign(new RSASSASigner(key));
            return jws.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Signs RS256 with the JDK alone: Nimbus refuses to sign with an RSA key under 2048 bits. */
    public static String rs256WithJdk(RSAKey key, JWTClaimsSet claims) {
        try {
            java.util.Base64.Encoder b64 = java.util.Base64.getUrlEncoder().withoutPadding();
            String header = b64.encodeToString(("{\"alg\":\"RS256\",\"kid\":\"" + key.getKeyID() + "\"}")
                                                       .getBytes(java.nio.charset.StandardCharsets.UTF_8));
            String payload = b64.encodeToString(claims.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            java.security.Signature rsa = java.security.Signature.getInstance("SHA256withRSA");
            rsa.initSign(key.toPrivateKey());
            rsa.update((header + "." + payload).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return header + "." + payload + "." + b64.encodeToString(rsa.sign());
        } catch (java.security.GeneralSecurityException | JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A key too weak to trust: RSA under 2048 bits (generated without Nimbus' own minimum). */
    public static RSAKey weakRsa(String kid) {
        try {
            java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("RSA");
            g.initialize(1024);
            java.security.KeyPair pair = g.generateKeyPair();
            return new RSAKey.Builder((java.security.interfaces.RSAPublicKey) pair.getPublic())
                    .privateKey(pair.getPrivate()).keyID(kid).build();
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String rs256(RSAKey key, Consumer<JWTClaimsSet.Builder> customise) {
        JWTClaimsSet.Builder b = claims("usr_123")
                .claim("org_id", "org_456")
                .claim("roles", List.of("admin", "billing"))
                .claim("permissions", List.of("orders:read"));
        customise.accept(b);
        return sign(key, JWSAlgorithm.RS256, b.build());
    }

    public static String hs256(byte[] secret, JWTClaimsSet claims) {
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
            jwt.sign(new MACSigner(secret));
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Map<String, String> env(String jwksUrl) {
        return Map.of("SIDEGATE_JWT_JWKS_URL", jwksUrl,
                      "SIDEGATE_JWT_ISSUER", ISSUER,
                      "SIDEGATE_JWT_AUDIENCE", AUDIENCE);
    }
}
