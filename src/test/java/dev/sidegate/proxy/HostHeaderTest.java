package dev.sidegate.proxy;

import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidegate.testing.RawHttp;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Host header, checked by Sidegate's {@link HostHeaderCheck} in place of Helidon's: what RFC 9112 and RFC 3986
 * allow reaches the upstream, everything else is a 400 problem and the connection closes.
 */
class HostHeaderTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static TestUpstream upstream;
    private static SidegateFixture sidegate;

    @BeforeAll
    static void start() {
        upstream = TestUpstream.start();
        sidegate = SidegateFixture.start("", Map.of("SIDEGATE_UPSTREAM", upstream.url()));
    }

    @AfterEach
    void stillServing() {
        assertEquals(200, sidegate.get("/healthy-after").statusCode(), "the server must keep serving");
    }

    @AfterAll
    static void stop() {
        sidegate.close();
        upstream.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"localhost", "localhost:8080", "api.example.com", "127.0.0.1", "127.0.0.1:1", "[::1]",
                            "[::1]:8443", "[2001:db8::7]:80", "ex%41mple.com", "xn--bcher-kva.example", "a_b~c",
                            "name!$&'()*+,;=", "555.555.555.555"})
    void aValidHostReachesTheUpstream(String host) throws Exception {
        RawHttp.Response response = RawHttp.exchange(sidegate.port(), "GET /h HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
        assertEquals(200, response.status(), host + ": " + response.text());
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "GET /h HTTP/1.1\r\n\r\n",                                      // none
            "GET /h HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",                // two
            "GET /h HTTP/1.1\r\nHost: \r\n\r\n",                            // empty
            "GET /h HTTP/1.1\r\nHost: exa mple.com\r\n\r\n",                // a space
            "GET /h HTTP/1.1\r\nHost: ex%4mple.com\r\n\r\n",                // a broken percent-encoding
            "GET /h HTTP/1.1\r\nHost: ex\"ample.com\r\n\r\n",               // a character no host has
            "GET /h HTTP/1.1\r\nHost: example.com:http\r\n\r\n",            // a port that is not a number
            "GET /h HTTP/1.1\r\nHost: :8080\r\n\r\n",                       // a port without a host
            "GET /h HTTP/1.1\r\nHost: [::1\r\n\r\n",                        // an unclosed IP literal
            "GET /h HTTP/1.1\r\nHost: [zz::1]:80\r\n\r\n",                  // an IP literal that is not one
            "GET /h HTTP/1.1\r\nHost: caf\u00e9.example\r\n\r\n"})          // not ASCII
    void anInvalidHostIs400AndClosesTheConnection(String request) throws Exception {
        try (RawHttp client = new RawHttp(sidegate.port())) {
            client.send(request);
            RawHttp.Response response = client.read(true);
            assertEquals(400, response.status(), request);
            assertEquals("application/problem+json", response.header("Content-Type").orElseThrow());
            JsonNode problem = JSON.readTree(response.body());
            assertEquals("urn:sidegate:problem:bad-request", problem.get("type").asText(), problem.toString());
            assertTrue(problem.get("trace_id").asText().matches("[0-9a-f]{32}"), problem.toString());
            assertTrue(client.closedByServer(), "the connection closes after the refusal");
        }
    }
}
