package dev.sidegate.proxy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DigestsTest {

    @Test
    void digestsAreTheStandardOnes() {
        // FIPS 180 test vectors for "abc"
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                     Digests.sha256Hex("abc".getBytes(StandardCharsets.UTF_8)));
        assertEquals("ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0", Digests.sha256Base64("abc"));
        assertEquals("a9993e364706816aba3e25717850c26c9cd0d89d", Digests.sha1Hex("abc"));
        assertEquals("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Digests.sha256Hex(new byte[0]));
    }

    @Test
    void concurrentDigestsDoNotShareState() throws Exception {
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                int seed = t;
                results.add(threads.submit(() -> {
                    for (int i = 0; i < 2_000; i++) {
                        String text = "client-" + seed + "-" + i;
                        if (!Digests.sha256Base64(text).equals(Digests.sha256Base64(text))) {
                            return false;
                        }
                    }
                    return Digests.sha256Base64("abc").equals("ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
                }));
            }
            for (Future<Boolean> result : results) {
                assertEquals(true, result.get());
            }
        }
    }
}
