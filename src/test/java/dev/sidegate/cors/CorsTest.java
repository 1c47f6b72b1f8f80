package dev.sidegate.cors;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sidegate.assembly.ConfigLoader;
import dev.sidegate.config.ConfigException;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import dev.sidegate.testing.Tokens;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CORS answered by Sidegate: preflights before auth and limits, headers on every answer, strict config. */
class CorsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] SECRET = "cors-tests-secret-0123456789abcdef0123".getBytes(StandardCharsets.UTF_8);
    private static final String APP = "https://app.example.com";
    private static final String CONFIG = """
            server:
              trusted_proxies: [127.0.0.1/32]
            cors:
              allowed_origins: [https://app.example.com, "https://*.shop.example"]
              allowed_methods: [GET, POST, PUT]
              allowed_headers: [Authorization, Content-Type]
              exposed_headers: [X-Request-Id]
              allow_credentials: true
              max_age: 5m
            rate_limits:
              default: {requests: 1, window: 600s}
            routes:
              - path: /api
                methods: [GET, POST, PUT]
              - path: /orders
                methods: [GET]
                cors:
                  allowed_origins: ["*"]
                  allowed_methods: [GET]
              - path: /orders
                methods: [DELETE]
                cors:
                  allowed_origins: [https://admin.example.com]
                  allowed_methods: [DELETE]
              - path: /legacy
                cors: off
            """;
    private static TestUpstream upstream;
    private static SidegateFixture sidegate;
    private static int nextIp = 1;

    @BeforeAll
    static void start() {
        upstream = TestUpstream.start();
        upstream.handle("/api/app-cors", (req, res) -> {
            res.header(HeaderValues.create(HeaderNames.create("Access-Control-Allow-Origin"), "*"));
            res.header(HeaderValues.create(HeaderNames.VARY, "Accept-Encoding"));
            res.send("app");
        });
        Map<String, String> env = new HashMap<>();
        env.put("SIDEGATE_UPSTREAM", upstream.url());
        env.put("SIDEGATE_JWT_HMAC_SECRET", new String(SECRET, StandardCharsets.UTF_8));
        env.put("SIDEGATE_JWT_ISSUER", Tokens.ISSUER);
        env.put("SIDEGATE_JWT_AUDIENCE", Tokens.AUDIENCE);
        sidegate = SidegateFixture.start(CONFIG, env);
    }

    @AfterAll
    static void stop() {
        sidegate.close();
        upstream.close();
    }

    private static synchronized String freshIp() {
        return "10.9.0." + nextIp++;
    }

    private static HttpResponse<String> send(String method, String path, String ip, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(sidegate.uri(path)).method(method, HttpRequest.BodyPublishers.noBody())
                .header("X-Forwarded-For", ip);
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return SidegateFixture.send(b.build());
    }

    private static HttpResponse<String> preflight(String path, String origin, String method, String headers) {
        return headers == null
                ? send("OPTIONS", path, freshIp(), "Origin", origin, "Access-Control-Request-Method", method)
                : send("OPTIONS", path, freshIp(), "Origin", origin, "Access-Control-Request-Method", method,
                       "Access-Control-Request-Headers", headers);
    }

    private static Optional<String> header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name);
    }

    @Test
    void aPreflightIsAnsweredBeforeAuthAndLimitsAndNeverReachesTheApp() {
        int before = upstream.count();
        String ip = freshIp();
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = send("OPTIONS", "/api/orders", ip, "Origin", APP, "Access-Control-Request-Method", "PUT",
                                          "Access-Control-Request-Headers", "content-type, authorization");
            assertEquals(204, r.statusCode(), r.body());
            assertEquals(APP, header(r, "Access-Control-Allow-Origin").orElseThrow());
            assertEquals("true", header(r, "Access-Control-Allow-Credentials").orElseThrow());
            assertEquals("GET, POST, PUT", header(r, "Access-Control-Allow-Methods").orElseThrow());
            assertEquals("authorization, content-type", header(r, "Access-Control-Allow-Headers").orElseThrow());
            assertEquals("300", header(r, "Access-Control-Max-Age").orElseThrow());
            assertEquals("Origin, Access-Control-Request-Method, Access-Control-Request-Headers", header(r, "Vary").orElseThrow());
            assertTrue(header(r, "X-Request-Id").isPresent());
            assertFalse(header(r, "RateLimit").isPresent(), "a preflight takes no token");
        }
        assertEquals(before, upstream.count(), "no preflight reached the app");
        // The limit is 1 per client: three preflights took nothing from it.
        String token = "Bearer " + Tokens.hs256(SECRET, Tokens.claims("ip-user").build());
        assertEquals(200, send("GET", "/api/orders", ip, "Origin", APP, "Authorization", token).statusCode());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "https://evil.example.com | PUT    | content-type   | origin 'https://evil.example.com' is not allowed on /api",
            "https://app.example.com  | DELETE |                | method 'DELETE' is not allowed for cross-origin requests on /api",
            "https://app.example.com  | PUT    | x-debug, accept| request header 'x-debug' is not allowed for cross-origin requests on /api",
            "https://shop.example     | GET    |                | origin 'https://shop.example' is not allowed on /api",
            "https://a.shop.example.evil.org | GET |            | origin 'https://a.shop.example.evil.org' is not allowed on /api",
            "http://app.example.com   | GET    |                | origin 'http://app.example.com' is not allowed on /api",
            "https://app.example.com:8443 | GET |               | origin 'https://app.example.com:8443' is not allowed on /api",
    })
    void aPreflightThePolicyDoesNotAllowIsA403WithoutCorsHeaders(String origin, String method, String headers, String detail)
            throws Exception {
        int before = upstream.count();
        HttpResponse<String> r = preflight("/api/orders", origin, method, headers);
        assertEquals(403, r.statusCode());
        assertEquals("application/problem+json", header(r, "Content-Type").orElseThrow());
        JsonNode problem = JSON.readTree(r.body());
        assertEquals("urn:sidegate:problem:cors-refused", problem.get("type").asText());
        assertEquals(detail, problem.get("detail").asText());
        assertTrue(problem.hasNonNull("request_id"));
        assertFalse(header(r, "Access-Control-Allow-Origin").isPresent());
        assertFalse(header(r, "Access-Control-Allow-Methods").isPresent());
        assertEquals(before, upstream.count());
    }

    @Test
    void wildcardOriginsCoverSubdomainsAtAnyDepthButNotTheDomainItself() {
        for (String origin : List.of("https://a.shop.example", "https://eu.west.shop.example", "HTTPS://B.Shop.Example")) {
            HttpResponse<String> r = preflight("/api/x", origin, "GET", null);
            assertEquals(204, r.statusCode(), origin);
            assertEquals(origin.toLowerCase(java.util.Locale.ROOT), header(r, "Access-Control-Allow-Origin").orElseThrow());
        }
    }

    @Test
    void everyAnswerToAnAllowedOriginCarriesTheHeadersSidegatesProblemsIncluded() throws Exception {
        HttpResponse<String> unauthenticated = send("GET", "/api/orders", freshIp(), "Origin", APP);
        assertEquals(401, unauthenticated.statusCode());
        assertEquals(APP, header(unauthenticated, "Access-Control-Allow-Origin").orElseThrow());
        assertEquals("true", header(unauthenticated, "Access-Control-Allow-Credentials").orElseThrow());
        assertEquals("X-Request-Id", header(unauthenticated, "Access-Control-Expose-Headers").orElseThrow());
        assertEquals("Origin", header(unauthenticated, "Vary").orElseThrow());

        String ip = freshIp();
        String token = "Bearer " + Tokens.hs256(SECRET, Tokens.claims("cors-user-" + ip).build());
        HttpResponse<String> ok = send("GET", "/api/app-cors", ip, "Origin", APP, "Authorization", token);
        assertEquals(200, ok.statusCode());
        assertEquals(List.of(APP), ok.headers().allValues("Access-Control-Allow-Origin"), "the app's own '*' is replaced");
        assertEquals("Accept-Encoding, Origin", header(ok, "Vary").orElseThrow(), "the app's Vary is kept and extended");

        HttpResponse<String> limited = send("GET", "/api/app-cors", ip, "Origin", APP, "Authorization", token);
        assertEquals(429, limited.statusCode());
        assertEquals(APP, header(limited, "Access-Control-Allow-Origin").orElseThrow(), "a 429 a page can read");
    }

    @Test
    void anotherOriginGetsNoCorsHeadersButIsNotRefused() {
        HttpResponse<String> r = send("GET", "/api/orders", freshIp(), "Origin", "https://evil.example.com");
        assertEquals(401, r.statusCode(), "the request goes on as it would without Origin; the browser withholds the answer");
        assertFalse(header(r, "Access-Control-Allow-Origin").isPresent());
        assertEquals("Origin", header(r, "Vary").orElseThrow());
    }

    @Test
    void aPreflightFindsTheRouteOfTheMethodItAsksAbout() {
        HttpResponse<String> get = preflight("/orders/7", "https://anyone.example", "GET", null);
        assertEquals(204, get.statusCode());
        assertEquals("*", header(get, "Access-Control-Allow-Origin").orElseThrow(), "'*' without credentials");
        assertFalse(header(get, "Access-Control-Allow-Credentials").isPresent());

        HttpResponse<String> delete = preflight("/orders/7", "https://admin.example.com", "DELETE", null);
        assertEquals(204, delete.statusCode(), "the DELETE route's own policy");
        assertEquals("https://admin.example.com", header(delete, "Access-Control-Allow-Origin").orElseThrow());
        assertEquals(403, preflight("/orders/7", "https://anyone.example", "DELETE", null).statusCode());
    }

    @Test
    void aRouteWithCorsOffLeavesPreflightsToTheApp() {
        int before = upstream.count();
        HttpResponse<String> r = preflight("/legacy/x", APP, "GET", null);
        assertEquals(401, r.statusCode(), "no preflight answer of Sidegate's: the OPTIONS goes through auth like any request");
        assertFalse(header(r, "Access-Control-Allow-Origin").isPresent());
        assertEquals(before, upstream.count());
    }

    private static String configError(String cors) {
        Map<String, String> env = Map.of("SIDEGATE_CONFIG", SidegateFixture.writeTemp(cors).toString());
        return assertThrows(ConfigException.class, () -> ConfigLoader.load(env)).getMessage();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "cors: {allowed_origins: ['*'], allow_credentials: true} | cors.allow_credentials: cannot be true with allowed_origins '*'",
            "cors: {allowed_origins: ['null']}                      | cors.allowed_origins[0]: the 'null' origin",
            "cors: {allowed_origins: ['https://a.example/path']}    | cors.allowed_origins[0]: expected an origin such as",
            "cors: {allowed_origins: ['app.example.com']}           | cors.allowed_origins[0]: expected an origin such as",
            "cors: {allowed_origins: ['https://a.*.example']}       | cors.allowed_origins[0]: expected an origin such as",
            "cors: {allowed_origins: ['*', 'https://a.example']}    | cors.allowed_origins: '*' allows every origin",
            "cors: {allowed_methods: [GET]}                         | cors.allowed_origins: list the origins allowed",
            "cors: {allowed_origins: ['*'], allowed_methods: [get]} | cors.allowed_methods[0]: expected an upper-case method",
            "cors: {allowed_origins: ['*'], allowed_headers: ['a b']} | cors.allowed_headers[0]: not a header name: 'a b'",
            "cors: {allowed_origins: ['*'], max_age: 1.5s}          | cors.max_age:",
            "cors: {allowed_origins: ['*'], max_age: 25h}           | cors.max_age: expected whole seconds from 0s to 24h, got '25h'",
            "cors: {allowed_origins: ['*'], max_agee: 1m}           | cors.max_agee: unknown key",
            "cors: on                                               | cors: expected a section with allowed_origins, got 'on'",
            "routes: [{path: /a, cors: maybe}]                      | routes[0].cors: expected a cors section, or 'off' for none on this route, got 'maybe'",
    })
    void badPoliciesFailTheLoadInOneLineNamingTheKey(String yaml, String expected) {
        String message = configError(yaml);
        assertTrue(message.startsWith(expected), message);
        assertFalse(message.contains("\n"));
    }
}
