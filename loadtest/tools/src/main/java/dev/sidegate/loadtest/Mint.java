package dev.sidegate.loadtest;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;

/**
 * Writes an RSA and an EC public key (PEM, for SIDEGATE_JWT_PUBLIC_KEY) and one token signed by each, valid for
 * two hours, with the issuer and audience the load-test configs expect.
 *
 * <p>Usage: {@code Mint <dir>} writes rsa.pem, ec.pem, rs256.token, es256.token.
 */
public final class Mint {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        RSAKey rsa = new RSAKeyGenerator(2048).keyID("lt-rsa").generate();
        ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("lt-ec").generate();
        Files.writeString(dir.resolve("rsa.pem"), pem(rsa.toPublicKey().getEncoded()));
        Files.writeString(dir.resolve("ec.pem"), pem(ec.toPublicKey().getEncoded()));
        Files.writeString(dir.resolve("rs256.token"), sign(new RSASSASigner(rsa), JWSAlgorithm.RS256, "lt-rsa"));
        Files.writeString(dir.resolve("es256.token"), sign(new ECDSASigner(ec), JWSAlgorithm.ES256, "lt-ec"));
    }

    private static String sign(com.nimbusds.jose.JWSSigner signer, JWSAlgorithm alg, String kid) throws Exception {
        Instant now = Instant.now();
        JWTClaimsSet claims = new JWTClaimsSet.Builder()
                .subject("loadtest-user")
                .issuer("https://idp.loadtest")
                .audience(List.of("sidegate-loadtest"))
                .issueTime(Date.from(now))
                .expirationTime(Date.from(now.plusSeconds(7200)))
                .claim("org_id", "org_lt")
                .claim("permissions", List.of("orders:write"))
                .build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(kid).build(), claims);
        jwt.sign(signer);
        return jwt.serialize();
    }

    private static String pem(byte[] der) {
        return "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
                + "\n-----END PUBLIC KEY-----\n";
    }
}
