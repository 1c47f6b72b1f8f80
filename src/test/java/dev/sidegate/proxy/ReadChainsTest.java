package dev.sidegate.proxy;

import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;

import dev.sidegate.testing.RawHttp;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import io.helidon.common.buffers.DataReader;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cutting a connection's read chain (the workaround for the nepotism of Helidon's DataReader): the reader reads the
 * same bytes as without the cut, the old first node no longer links to anything, and the real server still reads
 * pipelined and byte-by-byte requests exactly.
 */
class ReadChainsTest {

    private static DataReader reader(String... chunks) {
        Deque<byte[]> left = new ArrayDeque<>();
        for (String c : chunks) {
            left.add(c.getBytes(StandardCharsets.US_ASCII));
        }
        return DataReader.create(left::poll);
    }

    private static Object field(Object owner, String name) throws Exception {
        Field f = owner.getClass().getDeclaredField(name);
        f.setAccessible(true);
        return f.get(owner);
    }

    @Test
    void theCutKnowsTheShapeOfThisHelidonsReader() {
        assertTrue(ReadChains.available(), "Helidon's DataReader changed: re-check the nepotism and ReadChains");
    }

    @Test
    void aCutReaderReadsTheSameBytesAndTheOldFirstNodeLinksToNothing() throws Exception {
        // The head partly consumed, more nodes behind it, and the next read still to be pulled.
        DataReader reader = reader("GET /a HTTP/1.1\r\nHo", "st: x\r\n", "\r\nGET /b HTTP/1.1\r\n", "\r\n");
        assertEquals("GET /a HTTP/1.1", reader.readLine());
        reader.startsWith("Host: x\r\n\r\nGET".getBytes(StandardCharsets.US_ASCII)); // pulls the next two chunks
        Object head = field(reader, "head");
        ReadChains.cut(reader);
        assertNotSame(head, field(reader, "head"));
        assertNull(field(head, "next"), "the node that was first links to nothing");

        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            lines.add(reader.readLine());
        }
        assertEquals(List.of("Host: x", "", "GET /b HTTP/1.1", ""), lines, "the same lines as an uncut reader");
    }

    @Test
    void aCutOfAReaderWhoseOnlyNodeIsAlsoItsLastKeepsAppendingAfterTheCopy() throws Exception {
        DataReader reader = reader("GET /a HTTP/1.1\r\n", "Host: x\r\n\r\n");
        assertEquals("GET /a HTTP/1.1", reader.readLine());
        ReadChains.cut(reader);
        assertTrue(field(reader, "head") == field(reader, "tail"), "the copy is first and last");
        assertEquals("Host: x", reader.readLine());
        assertEquals("", reader.readLine());
    }

    @Test
    void theRealServerReadsPipelinedAndByteByByteRequestsExactly() throws Exception {
        try (TestUpstream upstream = TestUpstream.start();
             SidegateFixture sg = SidegateFixture.start("routes:\n  - path: /\n", Map.of("SIDEGATE_UPSTREAM", upstream.url()));
             RawHttp client = new RawHttp(sg.port())) {
            client.send("GET /one HTTP/1.1\r\nHost: c\r\n\r\nPOST /two HTTP/1.1\r\nHost: c\r\nContent-Length: 5\r\n\r\nhello"
                                + "GET /three HTTP/1.1\r\nHost: c\r\n\r\n");
            for (int i = 0; i < 3; i++) {
                assertEquals(200, client.read(true).status());
            }
            for (byte b : "GET /four HTTP/1.1\r\nHost: c\r\n\r\n".getBytes(StandardCharsets.US_ASCII)) {
                client.send(new byte[] {b});
            }
            assertEquals(200, client.read(true).status());
            List<String> paths = upstream.requests().stream().map(TestUpstream.Recorded::rawPath).toList();
            assertEquals(List.of("/one", "/two", "/three", "/four"), paths);
            assertEquals("hello", upstream.requests().get(1).body());
        }
    }
}
