package dev.sidegate.proxy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HexFormat;

/** The digests Sidegate takes: of tokens and client keys (never stored as themselves), files, and a Lua script. */
public final class Digests {
    private Digests() {
    }

    public static byte[] sha256(byte[] bytes) {
        return digest(SHA_256, bytes);
    }

    public static String sha256Hex(byte[] bytes) {
        return HexFormat.of().formatHex(sha256(bytes));
    }

    /** URL-safe base64 of the SHA-256 of the text's UTF-8 bytes, without padding. */
    public static String sha256Base64(String text) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(sha256(text.getBytes(StandardCharsets.UTF_8)));
    }

    /** SHA-1 in hex: what Redis names a script by (EVALSHA); not used for anything that needs collision resistance. */
    public static String sha1Hex(String text) {
        return HexFormat.of().formatHex(digest(SHA_1, text.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * Fresh digests are cloned from these rather than looked up: {@code MessageDigest.getInstance} searches the
     * security providers on every call, and the rate limiter and the token cache digest on every request.
     */
    private static final MessageDigest SHA_256 = instance("SHA-256");
    private static final MessageDigest SHA_1 = instance("SHA-1");

    private static byte[] digest(MessageDigest prototype, byte[] bytes) {
        try {
            return ((MessageDigest) prototype.clone()).digest(bytes);
        } catch (CloneNotSupportedException e) {
            return instance(prototype.getAlgorithm()).digest(bytes); // a provider whose digests cannot be cloned
        }
    }

    private static MessageDigest instance(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " is part of every JDK", e);
        }
    }
}
