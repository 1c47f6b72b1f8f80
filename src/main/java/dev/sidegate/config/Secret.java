package dev.sidegate.config;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/** A configuration value that must never be logged or shown: it prints as {@code <redacted>}. */
public record Secret(String value) {

    /** Compares in constant time, so response timing says nothing about how much of a guess was right. */
    public boolean matches(String candidate) {
        return candidate != null && MessageDigest.isEqual(value.getBytes(StandardCharsets.UTF_8),
                                                          candidate.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String toString() {
        return "<redacted>";
    }
}
