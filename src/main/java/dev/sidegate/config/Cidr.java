package dev.sidegate.config;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An IPv4 or IPv6 address block such as {@code 10.0.0.0/8} or {@code fd00::/8}; a bare address is a /32 or /128.
 * Two blocks are equal when they cover the same addresses ({@code 10.1.0.0/8} equals {@code 10.0.0.0/8}).
 */
public record Cidr(byte[] network, int prefixLength, String text) {

    public Cidr {
        network = masked(network, prefixLength);
    }

    private static byte[] masked(byte[] address, int prefixLength) {
        byte[] copy = address.clone();
        for (int bit = prefixLength; bit < copy.length * 8; bit++) {
            copy[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
        }
        return copy;
    }

    @Override
    public byte[] network() {
        return network.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Cidr other && prefixLength == other.prefixLength && java.util.Arrays.equals(network, other.network);
    }

    @Override
    public int hashCode() {
        return 31 * java.util.Arrays.hashCode(network) + prefixLength;
    }

    public static Cidr parse(String key, String text) {
        String t = text.trim();
        int slash = t.indexOf('/');
        String address = slash < 0 ? t : t.substring(0, slash);
        if (address.isEmpty() || (address.indexOf('.') < 0 && address.indexOf(':') < 0) || !address.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == '.' || c == ':')) {
            throw new ConfigException(key, "expected an IP address or CIDR block such as 10.0.0.0/8, got '" + text + "'");
        }
        byte[] bytes;
        try {
            // Only literals reach here (checked above), so this never performs a DNS lookup.
            bytes = InetAddress.getByName(address).getAddress();
        } catch (UnknownHostException e) {
            throw new ConfigException(key, "expected an IP address or CIDR block such as 10.0.0.0/8, got '" + text + "'");
        }
        int max = bytes.length * 8;
        int prefix = max;
        if (slash >= 0) {
            try {
                prefix = Integer.parseInt(t.substring(slash + 1));
            } catch (NumberFormatException e) {
                prefix = -1;
            }
            if (prefix < 0 || prefix > max) {
                throw new ConfigException(key, "prefix length must be 0-" + max + " in '" + text + "'");
            }
        }
        return new Cidr(bytes, prefix, t);
    }

    public boolean contains(InetAddress address) {
        byte[] candidate = address.getAddress();
        if (candidate.length != network.length) {
            return false;
        }
        int full = prefixLength / 8;
        for (int i = 0; i < full; i++) {
            if (candidate[i] != network[i]) {
                return false;
            }
        }
        int rest = prefixLength % 8;
        if (rest == 0) {
            return true;
        }
        int mask = (0xFF << (8 - rest)) & 0xFF;
        return (candidate[full] & mask) == (network[full] & mask);
    }

    @Override
    public String toString() {
        return text;
    }
}
