package dev.sidegate.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import dev.sidegate.config.ConfigException;

/** Reads a PEM {@code PUBLIC KEY} (RSA or EC) into a JWK with the JDK alone. */
final class PemPublicKeys {
    private PemPublicKeys() {
    }

    static JWK read(String key, Path file) {
        String pem;
        try {
            pem = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new ConfigException(key, "cannot read '" + file + "'");
        }
        int begin = pem.indexOf("-----BEGIN PUBLIC KEY-----");
        int end = pem.indexOf("-----END PUBLIC KEY-----");
        if (begin < 0 || end < begin) {
            throw new ConfigException(key, "'" + file + "' is not a PEM public key (-----BEGIN PUBLIC KEY-----)");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(pem.substring(begin + 26, end));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(key, "'" + file + "' has invalid base64 in its PEM body");
        }
        for (String algorithm : new String[] {"RSA", "EC"}) {
            try {
                PublicKey publicKey = KeyFactory.getInstance(algorithm).generatePublic(new X509EncodedKeySpec(der));
                if (publicKey instanceof RSAPublicKey rsa) {
                    if (rsa.getModulus().bitLength() < 2048) {
                        throw new ConfigException(key, "RSA keys must have at least 2048 bits");
                    }
                    return new RSAKey.Builder(rsa).build();
                }
                if (publicKey instanceof ECPublicKey ec) {
                    return new ECKey.Builder(Curve.forECParameterSpec(ec.getParams()), ec).build();
                }
            } catch (java.security.GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new ConfigException(key, "'" + file + "' holds neither an RSA nor an EC public key");
    }
}
