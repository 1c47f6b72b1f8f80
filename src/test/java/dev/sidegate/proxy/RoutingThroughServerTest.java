package dev.sidegate.proxy;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidegate.testing.RawHttp;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Path normalisation and route matching through the real server: what is routed is what is forwarded. */
class RoutingThroughServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static TestUpstream orders;
    private static TestUpstream api;
    private static SidegateFixture sidegate;

    @BeforeAll
    static void start() {
        orders = TestUpstream.start();
        api = TestUpstream.start();
        sidegate = SidegateFixture.start("""
                routes:
                  - path: /api/v1/orders
                    methods: [GET, POST]
                    upstream: %s
                  - path: /api
                    upstream: %s
                """.formatted(orders.url(), api.url()), Map.of());
    }

    @AfterAll
    static void stop() {
        sidegate.close();
        orders.close();
        api.close();
    }

    @Test
    void routesMatchCaseSensitivelyUnlessTheRouteSaysOtherwise() throws Exception {
        try (TestUpstream folding = TestUpstream.start();
             SidegateFixture sg = SidegateFixture.start("""
                     routes:
                       - path: /admin
                         permission: admin:all
                         upstream: %1$s
                       - path: /Files
                         case_sensitive: false
                         upstream: %1$s
                       - path: /
                         upstream: %2$s
                     rate_limits:
                       routes:
                         /Files/big: {requests: 1, window: 600s}
                     """.formatted(folding.url(), api.url()), Map.of())) {
            // Case variants, double encodings and trailing dots are other paths: they do not match /admin.
            int apiBefore = api.count();
            int before = folding.count();
            for (String other : new String[] {"/ADMIN", "/Admin/x", "/admin.", "/%2561dmin", "/admin%252e"}) {
                RawHttp.Response response = RawHttp.exchange(sg.port(), "GET " + other + " HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n");
                assertEquals(200, response.status(), other);
                assertEquals(other, api.last().rawPath(), "went to the catch-all route");
            }
            assertEquals(apiBefore + 5, api.count());
            assertEquals(before, folding.count(), "none of them reached /admin");
            for (String variant : new String[] {"/files/a", "/FILES/b", "/Files/c"}) {
                RawHttp.Response response = RawHttp.exchange(sg.port(), "GET " + variant + " HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n");
                assertEquals(200, response.status(), variant);
                assertEquals(variant, folding.last().rawPath(), "the path goes upstream as sent");
            }
            assertEquals(before + 3, folding.count(), "every case of /Files reaches the case-insensitive route");
            assertEquals(200, RawHttp.exchange(sg.port(), "GET /files/BIG/1 HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n").status());
            assertEquals(429, RawHttp.exchange(sg.port(), "GET /FILES/big/2 HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n").status(),
                         "a route limit under a case-insensitive route matches every case too");
        }
    }

    @ParameterizedTest
    @CsvSource({
            "/api/v1/orders/7, orders, /api/v1/orders/7",
            "/api/./v1//orders/../orders/7, orders, /api/v1/orders/7",
            "/%61pi/v1/%6Frders, orders, /api/v1/orders",
            "/api/v1/x/../orders, orders, /api/v1/orders",
            "/api/v1/ordersX, api, /api/v1/ordersX",
            "/api/v1/orders/../../v2/orders, api, /api/v2/orders",
            "/api, api, /api",
    })
    void theNormalisedPathIsBothRoutedAndForwarded(String sent, String expectedUpstream, String expectedPath) throws Exception {
        RawHttp.Response response = RawHttp.exchange(sidegate.port(),
                                                     "GET " + sent + " HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n");
        assertEquals(200, response.status());
        TestUpstream target = expectedUpstream.equals("orders") ? orders : api;
        assertEquals(expectedPath, target.last().rawPath());
    }

    @Test
    void noMatchingRouteIsA404Problem() throws Exception {
        HttpResponse<String> response = sidegate.get("/nothing/here");
        assertEquals(404, response.statusCode());
        assertEquals("application/problem+json", response.headers().firstValue("Content-Type").orElseThrow());
        JsonNode problem = JSON.readTree(response.body());
        assertEquals("urn:sidegate:problem:no-route", problem.get("type").asText());
        assertEquals("No route", problem.get("title").asText());
        assertEquals(404, problem.get("status").asInt());
        assertEquals("no route matches /nothing/here", problem.get("detail").asText());
        assertTrue(problem.get("trace_id").asText().matches("[0-9a-f]{32}"));
    }

    @Test
    void aMethodTheRouteDoesNotAcceptIsA405WithAllow() throws Exception {
        HttpResponse<String> response = SidegateFixture.send(HttpRequest.newBuilder(sidegate.uri("/api/v1/orders/7"))
                                                                    .DELETE().build());
        assertEquals(405, response.statusCode());
        assertEquals("GET, POST", response.headers().firstValue("Allow").orElseThrow());
        assertEquals("urn:sidegate:problem:method-not-allowed", JSON.readTree(response.body()).get("type").asText());
    }

    @Test
    void problemsCarryTheTraceIdOfTheClientsTraceparent() throws Exception {
        HttpResponse<String> response = SidegateFixture.send(HttpRequest.newBuilder(sidegate.uri("/nothing"))
                .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").build());
        assertEquals("4bf92f3577b34da6a3ce929d0e0e4736", JSON.readTree(response.body()).get("trace_id").asText());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "/api/%zz                  | invalid percent-encoding",
            "/api/%00x                 | encoded control character",
            "/api/../../etc/passwd     | goes above the root",
            "/api/a%2Fb                | encoded slash",
            "/api/a%5cb                | encoded slash or backslash",
            "/api/x;jsessionid=1       | ';'",
    })
    void badPathsAre400ProblemsAndNeverReachTheUpstream(String path, String reason) throws Exception {
        int before = orders.count() + api.count();
        RawHttp.Response response = RawHttp.exchange(sidegate.port(),
                                                     "GET " + path + " HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n");
        assertEquals(400, response.status(), response.text());
        JsonNode problem = JSON.readTree(response.body());
        assertEquals(400, problem.get("status").asInt());
        assertTrue(problem.get("detail").asText().contains(reason), problem.toString());
        assertEquals(before, orders.count() + api.count());
        assertEquals(200, sidegate.get("/api/still-serving").statusCode());
    }
}
