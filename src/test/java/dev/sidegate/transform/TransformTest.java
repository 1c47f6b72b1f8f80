package dev.sidegate.transform;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import dev.sidegate.config.ConfigException;
import dev.sidegate.testing.JwksServer;
import dev.sidegate.testing.RawHttp;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import dev.sidegate.testing.Tokens;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Declarative transforms through the real server, against a real upstream that records what it received. */
class TransformTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String V1_TO_V2 = "{customer: {id: .customer_id}, line_items: [.items[] | {product_id, quantity: .qty}],"
            + " metadata: {api_version: \"v1\"}}";
    private static final String ROUTES = """
            routes:
              - path: /api/v1/orders
                methods: [POST]
                public: true
                transform:
                  request:
                    path:
                      replace_prefix: {from: /api/v1/orders, to: /api/v2/orders}
                    body: '%s'
              - path: /headers
                transform:
                  request:
                    headers:
                      remove: [X-Debug]
                      rename: {X-Old-Name: X-New-Name}
                      set: {X-Api-Version: "2", X-Caller: "${identity.sub}"}
                      add: {X-Org: "org=${identity.org_id}"}
                    query:
                      add: {api_version: "2", user: "${identity.sub}"}
                      remove: [debug]
              - path: /identity-add
                transform:
                  request:
                    headers:
                      add: {X-Caller: "${identity.sub}", X-Profile: "${identity.profile}", X-Static: "fixed"}
              - path: /overflow
                public: true
                transform:
                  request:
                    body: '{n: (.n * 1e308)}'
              - path: /items
                public: true
                transform:
                  request:
                    path:
                      regex: {pattern: "^/items/([0-9]+)/details$", replacement: "/v2/item-details/$1"}
              - path: /whoami
                transform:
                  request:
                    body: '. + {user: $identity.sub, org: $identity.org_id}'
              - path: /small
                public: true
                transform:
                  max_body_bytes: 64
                  request:
                    body: '.'
              - path: /big-response
                public: true
                transform:
                  max_body_bytes: 64
                  response:
                    body: '.'
              - path: /lenient
                public: true
                transform:
                  non_json: pass
                  request:
                    body: '{wrapped: .}'
              - path: /strict
                public: true
                transform:
                  request:
                    body: '.items | map(.qty + 1)'
              - path: /responses
                public: true
                transform:
                  response:
                    status: {"404": 410, "201": 200}
                    headers:
                      remove: [X-Internal]
                      set: {Cache-Control: no-store}
                      rename: {X-Upstream-Version: X-Api-Version}
                    body: '{data: ., version: 2}'
              - path: /unreachable
                public: true
                upstream: http://127.0.0.1:1
                retry: {attempts: 0}
                transform:
                  response:
                    status: {"502": 200}
                    body: '{data: .}'
              - path: /
                public: true
            """.formatted(V1_TO_V2);
    private static final RSAKey KEY = Tokens.rsa("transform-1");

    private static TestUpstream upstream;
    private static JwksServer jwks;
    private static SidegateFixture sidegate;

    @BeforeAll
    static void start() {
        upstream = TestUpstream.start();
        jwks = new JwksServer(new JWKSet(List.of(KEY)));
        Map<String, String> env = new HashMap<>(Tokens.env(jwks.url()));
        env.put("SIDEGATE_UPSTREAM", upstream.url());
        sidegate = SidegateFixture.start(ROUTES, env);
        upstream.handle("/big-response", (req, res) -> {
            res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "application/json"));
            res.send(("{\"pad\":\"" + "x".repeat(200) + "\"}").getBytes(StandardCharsets.UTF_8));
        });
        upstream.handle("/responses", (req, res) -> {
            String path = req.prologue().uriPath().rawPath();
            res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "application/json"));
            res.header(HeaderValues.create("X-Internal", "secret-topology"));
            res.header(HeaderValues.create("X-Upstream-Version", "7"));
            if (path.endsWith("/missing")) {
                res.status(Status.NOT_FOUND_404).send("{\"error\":\"no such thing\"}".getBytes(StandardCharsets.UTF_8));
            } else if (path.endsWith("/created")) {
                res.status(Status.CREATED_201).send("[1,2]".getBytes(StandardCharsets.UTF_8));
            } else if (path.endsWith("/text")) {
                res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "text/plain"));
                res.send("plain words".getBytes(StandardCharsets.UTF_8));
            } else if (path.endsWith("/broken")) {
                res.send("{not json".getBytes(StandardCharsets.UTF_8));
            } else {
                res.send("{\"id\":1}".getBytes(StandardCharsets.UTF_8));
            }
        });
    }

    @AfterAll
    static void stop() {
        sidegate.close();
        jwks.close();
        upstream.close();
    }

    private static HttpResponse<String> post(String path, String contentType, String body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(sidegate.uri(path)).POST(HttpRequest.BodyPublishers.ofString(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return SidegateFixture.send(b.build());
    }

    private static String token() {
        return Tokens.sign(KEY, JWSAlgorithm.RS256, Tokens.claims("usr_123").claim("org_id", "org_456").build());
    }

    private static JsonNode problem(HttpResponse<String> response) throws Exception {
        assertEquals("application/problem+json", response.headers().firstValue("Content-Type").orElseThrow());
        return JSON.readTree(response.body());
    }

    @Test
    void theSeedsV1OrderReachesTheUpstreamAsV2ByteForByte() {
        String v1 = "{\"customer_id\": \"c1\", \"items\": [{\"product_id\": \"p1\", \"qty\": 2}]}";
        HttpResponse<String> response = post("/api/v1/orders", "application/json", v1);

        assertEquals(200, response.statusCode());
        TestUpstream.Recorded seen = upstream.last();
        String v2 = "{\"customer\":{\"id\":\"c1\"},\"line_items\":[{\"product_id\":\"p1\",\"quantity\":2}],"
                + "\"metadata\":{\"api_version\":\"v1\"}}";
        assertEquals("POST", seen.method());
        assertEquals("/api/v2/orders", seen.rawPath());
        assertEquals(v2, seen.body());
        assertEquals(Integer.toString(v2.getBytes(StandardCharsets.UTF_8).length), seen.header("Content-Length").orElseThrow());
        assertEquals(v2.length(), seen.bodyLength());
        assertEquals("application/json", seen.header("Content-Type").orElseThrow());
    }

    @Test
    void aChunkedV1BodyIsRewrittenAndSentWithAContentLength() throws Exception {
        String v1 = "{\"customer_id\":\"c9\",\"items\":[]}";
        String request = "POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + Integer.toHexString(v1.length()) + "\r\n" + v1 + "\r\n0\r\n\r\n";
        RawHttp.Response response = RawHttp.exchange(sidegate.port(), request);
        assertEquals(200, response.status(), response.text());
        TestUpstream.Recorded seen = upstream.last();
        String v2 = "{\"customer\":{\"id\":\"c9\"},\"line_items\":[],\"metadata\":{\"api_version\":\"v1\"}}";
        assertEquals(v2, seen.body());
        assertEquals(Integer.toString(v2.length()), seen.header("Content-Length").orElseThrow());
        assertTrue(seen.header("Transfer-Encoding").isEmpty());
    }

    @Test
    void requestHeadersAndQueryAreEditedAndMayCarryTheVerifiedIdentity() {
        HttpResponse<String> response = SidegateFixture.send(HttpRequest.newBuilder(sidegate.uri("/headers/x?debug=1&keep=a%20b&debug=2"))
                .header("Authorization", "Bearer " + token())
                .header("X-Debug", "1")
                .header("X-Old-Name", "carried")
                .header("X-Caller", "spoofed")
                .GET().build());

        assertEquals(200, response.statusCode());
        TestUpstream.Recorded seen = upstream.last();
        assertTrue(seen.header("X-Debug").isEmpty());
        assertTrue(seen.header("X-Old-Name").isEmpty());
        assertEquals("carried", seen.header("X-New-Name").orElseThrow());
        assertEquals("2", seen.header("X-Api-Version").orElseThrow());
        assertEquals(List.of("usr_123"), seen.headers("X-Caller"), "set replaces what the client sent");
        assertEquals("org=org_456", seen.header("X-Org").orElseThrow());
        assertEquals("keep=a%20b&api_version=2&user=usr_123", seen.rawQuery());
    }

    @Test
    void anAddedIdentityHeaderNeverCarriesTheClientsOwnValueAndObjectClaimsAreJson() {
        String token = Tokens.sign(KEY, JWSAlgorithm.RS256, Tokens.claims("usr_123")
                .claim("profile", Map.of("team", "core")).build());
        HttpResponse<String> response = SidegateFixture.send(HttpRequest.newBuilder(sidegate.uri("/identity-add"))
                .header("Authorization", "Bearer " + token)
                .header("X-Caller", "spoofed")
                .header("X-Profile", "spoofed")
                .header("X-Static", "client")
                .GET().build());
        assertEquals(200, response.statusCode());
        TestUpstream.Recorded seen = upstream.last();
        assertEquals(List.of("usr_123"), seen.headers("X-Caller"));
        assertEquals(List.of("{\"team\":\"core\"}"), seen.headers("X-Profile"));
        assertEquals(List.of("client", "fixed"), seen.headers("X-Static"), "add appends when no identity is involved");
    }

    @Test
    void aJqResultThatJsonCannotHoldIsATransformFailure() throws Exception {
        int before = upstream.count();
        HttpResponse<String> response = post("/overflow", "application/json", "{\"n\": 10}");
        assertEquals(400, response.statusCode(), response.body());
        JsonNode problem = problem(response);
        assertEquals("urn:sidegate:problem:transform-failed", problem.get("type").asText());
        assertTrue(problem.get("detail").asText().contains("infinite or NaN"), problem.toString());
        assertEquals(before, upstream.count());
    }

    @Test
    void aRegexPathRewriteUsesItsGroupsAndLeavesOtherPathsAlone() {
        assertEquals(200, sidegate.get("/items/42/details").statusCode());
        assertEquals("/v2/item-details/42", upstream.last().rawPath());
        assertEquals(200, sidegate.get("/items/42").statusCode());
        assertEquals("/items/42", upstream.last().rawPath());
    }

    @Test
    void aBodyTransformCanReadTheVerifiedIdentity() throws Exception {
        HttpResponse<String> response = post("/whoami", "application/json; charset=utf-8", "{\"note\":\"hi\"}",
                                             "Authorization", "Bearer " + token());
        assertEquals(200, response.statusCode());
        JsonNode seen = JSON.readTree(upstream.last().body());
        assertEquals("hi", seen.get("note").asText());
        assertEquals("usr_123", seen.get("user").asText());
        assertEquals("org_456", seen.get("org").asText());
    }

    @Test
    void aBodyOverTheRoutesLimitIs413AndTheUpstreamIsNotCalled() throws Exception {
        int before = upstream.count();
        HttpResponse<String> response = post("/small", "application/json", "{\"pad\":\"" + "x".repeat(100) + "\"}");
        assertEquals(413, response.statusCode());
        assertEquals("urn:sidegate:problem:body-too-large", problem(response).get("type").asText());
        assertEquals(before, upstream.count());

        assertEquals(200, post("/small", "application/json", "{\"a\":1}").statusCode(), "a body within the limit passes");
        assertEquals("{\"a\":1}", upstream.last().body());
    }

    @Test
    void aBodyThatIsNotJsonIs400UnlessTheRoutePassesItThrough() throws Exception {
        int before = upstream.count();
        HttpResponse<String> wrongType = post("/api/v1/orders", "text/plain", "customer=c1");
        assertEquals(400, wrongType.statusCode());
        assertEquals("urn:sidegate:problem:not-json", problem(wrongType).get("type").asText());

        HttpResponse<String> invalid = post("/api/v1/orders", "application/json", "{\"customer_id\": ");
        assertEquals(400, invalid.statusCode());
        assertEquals("urn:sidegate:problem:invalid-json", problem(invalid).get("type").asText());
        assertEquals(before, upstream.count(), "the upstream is not called");

        assertEquals(200, post("/lenient", "text/plain", "raw words").statusCode());
        assertEquals("raw words", upstream.last().body(), "non_json: pass forwards the body untouched");
        assertEquals(200, post("/lenient", "application/vnd.sidegate+json", "[1]").statusCode());
        assertEquals("{\"wrapped\":[1]}", upstream.last().body(), "+json media types are JSON");
    }

    @Test
    void anExpressionThatFailsOnTheBodyIs400WithAProblemNotA500() throws Exception {
        int before = upstream.count();
        HttpResponse<String> response = post("/strict", "application/json", "{\"items\":[{\"qty\":\"two\"}]}");
        assertEquals(400, response.statusCode());
        JsonNode problem = problem(response);
        assertEquals("urn:sidegate:problem:transform-failed", problem.get("type").asText());
        assertTrue(problem.get("detail").asText().contains("/strict"), problem.toString());
        assertFalse(response.body().contains("at net.thisptr"), "no stack trace");
        assertEquals(before, upstream.count());

        assertEquals(200, post("/strict", "application/json", "{\"items\":[{\"qty\":2}]}").statusCode());
        assertEquals("[3]", upstream.last().body());
    }

    @Test
    void aRequestWithoutABodyPassesABodyTransformRouteUntouched() {
        HttpResponse<String> response = SidegateFixture.send(HttpRequest.newBuilder(sidegate.uri("/lenient"))
                .GET().build());
        assertEquals(200, response.statusCode());
        assertEquals(0, upstream.last().bodyLength());
    }

    @Test
    void responsesGetTheirStatusMappedHeadersEditedAndJsonBodyRewritten() throws Exception {
        HttpResponse<String> ok = sidegate.get("/responses/one");
        assertEquals(200, ok.statusCode());
        assertEquals("{\"data\":{\"id\":1},\"version\":2}", ok.body());
        assertEquals(Integer.toString(ok.body().length()), ok.headers().firstValue("Content-Length").orElseThrow());
        assertTrue(ok.headers().firstValue("X-Internal").isEmpty());
        assertEquals("no-store", ok.headers().firstValue("Cache-Control").orElseThrow());
        assertEquals("7", ok.headers().firstValue("X-Api-Version").orElseThrow());
        assertTrue(ok.headers().firstValue("X-Upstream-Version").isEmpty());

        HttpResponse<String> missing = sidegate.get("/responses/missing");
        assertEquals(410, missing.statusCode());
        assertEquals("{\"data\":{\"error\":\"no such thing\"},\"version\":2}", missing.body());

        HttpResponse<String> created = sidegate.get("/responses/created");
        assertEquals(200, created.statusCode());
        assertEquals("{\"data\":[1,2],\"version\":2}", created.body());

        HttpResponse<String> text = sidegate.get("/responses/text");
        assertEquals(200, text.statusCode());
        assertEquals("plain words", text.body(), "a non-JSON response passes untouched");
    }

    @Test
    void anUpstreamResponseThatIsNotValidJsonIs502() throws Exception {
        HttpResponse<String> response = sidegate.get("/responses/broken");
        assertEquals(502, response.statusCode());
        assertEquals("urn:sidegate:problem:response-transform-failed", problem(response).get("type").asText());
        assertEquals(200, sidegate.get("/responses/one").statusCode(), "the server keeps serving");
    }

    @Test
    void sidegatesOwnProblemsAreNotRewrittenByResponseTransforms() throws Exception {
        HttpResponse<String> response = sidegate.get("/unreachable");
        assertEquals(502, response.statusCode(), "status mapping applies to upstream responses only");
        assertEquals("urn:sidegate:problem:upstream-unreachable", problem(response).get("type").asText());
    }

    @Test
    void anEmptyChunkedBodyOnABodyTransformRouteIsForwardedEmpty() throws Exception {
        String request = "POST /strict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n";
        assertEquals(200, RawHttp.exchange(sidegate.port(), request).status());
        assertEquals(0, upstream.last().bodyLength());
    }

    @Test
    void anUpstreamResponseOverTheTransformLimitIs502() throws Exception {
        HttpResponse<String> response = sidegate.get("/big-response");
        assertEquals(502, response.statusCode());
        assertEquals("urn:sidegate:problem:response-too-large", problem(response).get("type").asText());
    }

    @Test
    void adminConfigShowsTheTransformsWithoutHeaderValues() throws Exception {
        JsonNode routes = JSON.readTree(sidegate.admin("/admin/config").body()).get("routes");
        JsonNode orders = routes.get(0).get("transform");
        assertEquals(V1_TO_V2, orders.get("request").get("body").asText());
        assertEquals("replace_prefix /api/v1/orders -> /api/v2/orders", orders.get("request").get("path").asText());
        JsonNode headers = routes.get(1).get("transform").get("request").get("headers");
        assertEquals("[\"X-Api-Version\",\"X-Caller\"]", headers.get("set").toString());
        assertFalse(sidegate.admin("/admin/config").body().contains("${identity.sub}"));
    }

    @Test
    void anInvalidExpressionFailsTheLoadNamingTheRouteAndTheExpression() {
        String yaml = """
                routes:
                  - path: /fine
                  - path: /broken
                    transform:
                      request:
                        body: '{a: .b | }'
                """;
        ConfigException e = assertThrows(ConfigException.class,
                () -> SidegateFixture.start(yaml, Map.of("SIDEGATE_UPSTREAM", upstream.url())).close());
        assertEquals("routes[1].transform.request.body", e.key());
        assertTrue(e.getMessage().contains("/broken"), e.getMessage());
        assertTrue(e.getMessage().contains("{a: .b | }"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line");
    }

    @Test
    void invalidTransformSettingsNameTheirKey() {
        Map<String, String> env = Map.of("SIDEGATE_UPSTREAM", upstream.url());
        assertEquals("routes[0].transform.request.path.regex.pattern", assertThrows(ConfigException.class, () -> SidegateFixture.start("""
                routes:
                  - path: /r
                    transform: {request: {path: {regex: {pattern: "([a-z", replacement: /x}}}}
                """, env)).key());
        assertEquals("routes[0].transform.response.status", assertThrows(ConfigException.class, () -> SidegateFixture.start("""
                routes:
                  - path: /r
                    transform: {response: {status: {"404": "gone"}}}
                """, env)).key().replaceAll("\\.404$", ""));
        assertEquals("routes[0].transform.request.headers.set", assertThrows(ConfigException.class, () -> SidegateFixture.start("""
                routes:
                  - path: /r
                    transform: {request: {headers: {set: {"Bad Header": x}}}}
                """, env)).key());
        assertEquals("routes[0].transform.request.colour", assertThrows(ConfigException.class, () -> SidegateFixture.start("""
                routes:
                  - path: /r
                    transform: {request: {colour: red}}
                """, env)).key());
    }
}
