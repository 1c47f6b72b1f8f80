package dev.sidegate.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.UnknownHostException;

import org.junit.jupiter.api.Test;

import dev.sidegate.proxy.Digests;

class ClientKeysTest {

    @Test
    void keysAreTheHashesRedisAlreadyHolds() throws UnknownHostException {
        // The cache must not change a key: buckets in Redis outlive a rolling upgrade.
        ClientKeys keys = new ClientKeys();
        assertEquals(Digests.sha256Base64("ip:10.1.2.3").substring(0, 22), keys.forAddress(InetAddress.getByName("10.1.2.3")));
        assertEquals(Digests.sha256Base64("ip:2001:db8:0:0:0:0:0:1").substring(0, 22),
                     keys.forAddress(InetAddress.getByName("2001:db8::1")));
        assertEquals(Digests.sha256Base64("sub:alice").substring(0, 22), keys.forSubject("alice"));
        assertEquals(Digests.sha256Base64("key:k-123").substring(0, 22), ClientKeys.forApiKey("k-123"));
    }

    @Test
    void aClientIsHashedOnceAndKindsNeverShareAKey() throws UnknownHostException {
        ClientKeys keys = new ClientKeys();
        String first = keys.forAddress(InetAddress.getByName("10.1.2.3"));
        assertSame(first, keys.forAddress(InetAddress.getByName("10.1.2.3")));
        assertNotEquals(keys.forSubject("10.1.2.3"), first);
        assertNotEquals(ClientKeys.forApiKey("alice"), keys.forSubject("alice"));
        assertEquals(3, keys.size(), "one address and two subjects are kept; API keys, secrets, never are");
    }

    @Test
    void theCacheStaysBounded() throws UnknownHostException {
        ClientKeys keys = new ClientKeys();
        for (int i = 0; i < ClientKeys.MAX_ENTRIES + 500; i++) {
            keys.forAddress(InetAddress.getByAddress(new byte[] {10, (byte) (i >> 16), (byte) (i >> 8), (byte) i}));
        }
        assertTrue(keys.size() <= ClientKeys.MAX_ENTRIES, "at most " + ClientKeys.MAX_ENTRIES + ": " + keys.size());
        assertEquals(Digests.sha256Base64("ip:10.0.0.7").substring(0, 22),
                     keys.forAddress(InetAddress.getByAddress(new byte[] {10, 0, 0, 7})), "right after emptying too");
    }
}
