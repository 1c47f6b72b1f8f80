package dev.sidegate.auth;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import dev.sidegate.testing.Await;
import dev.sidegate.testing.JwksServer;
import dev.sidegate.testing.RawHttp;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import dev.sidegate.testing.Tokens;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** JWT authentication through the real server, with a real JWKS endpoint and real signed tokens. */
class AuthTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String ROUTES = """
            routes:
              - path: /public
                public: true
              - path: /orders
                permission: orders:write
              - path: /
            """;
    private static final RSAKey RSA = Tokens.rsa("rsa-1");
    private static final ECKey EC = Tokens.ec("ec-1");
    private static final RSAKey STRANGER = Tokens.rsa("rsa-1"); // same kid, different key

    private static TestUpstream upstream;
    private static JwksServer jwks;
    private static SidegateFixture sidegate;

    @BeforeAll
    static void start() {
        upstream = TestUpstream.start();
        jwks = new JwksServer(new JWKSet(List.of(RSA, EC)));
        sidegate = SidegateFixture.start(ROUTES, env(jwks));
    }

    static Map<String, String> env(JwksServer server) {
        Map<String, String> env = new HashMap<>(Tokens.env(server.url()));
        env.put("SIDEGATE_UPSTREAM", upstream.url());
        return env;
    }

    @AfterAll
    static void stop() {
        sidegate.close();
        jwks.close();
        upstream.close();
    }

    static HttpResponse<String> get(SidegateFixture sg, String path, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(sg.uri(path));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return SidegateFixture.send(b.build());
    }

    static HttpResponse<String> withToken(SidegateFixture sg, String path, String token) {
        return get(sg, path, "Authorization", "Bearer " + token);
    }

    static JsonNode problem(HttpResponse<String> response) throws Exception {
        assertEquals("application/problem+json", response.headers().firstValue("Content-Type").orElseThrow());
        return JSON.readTree(response.body());
    }

    @Test
    void aValidTokenReachesTheUpstreamAsIdentityHeadersWithoutTheToken() {
        String token = Tokens.rs256(RSA, c -> { });
        HttpResponse<String> response = withToken(sidegate, "/api/me", token);
        assertEquals(200, response.statusCode());
        TestUpstream.Recorded seen = upstream.last();
        assertEquals("usr_123", seen.header("X-User-ID").orElseThrow());
        assertEquals("org_456", seen.header("X-Org-ID").orElseThrow());
        assertEquals("admin,billing", seen.header("X-Roles").orElseThrow(), "arrays are joined with commas, never base64");
        assertTrue(seen.header("Authorization").isEmpty(), "the token is not forwarded by default");
    }

    @Test
    void es256TokensFromTheJwksWorkToo() {
        String token = Tokens.sign(EC, JWSAlgorithm.ES256, Tokens.claims("usr_ec").build());
        assertEquals(200, withToken(sidegate, "/api/ec", token).statusCode());
        assertEquals("usr_ec", upstream.last().header("X-User-ID").orElseThrow());
        assertTrue(upstream.last().header("X-Org-ID").isEmpty(), "a missing claim means a missing header");
    }

    @Test
    void spoofedIdentityHeadersNeverReachTheUpstream() {
        String[] spoof = {"X-User-ID", "admin", "X-Org-ID", "org_evil", "X-Roles", "root"};
        assertEquals(200, get(sidegate, "/public/page", spoof).statusCode());
        TestUpstream.Recorded seen = upstream.last();
        assertTrue(seen.header("X-User-ID").isEmpty() && seen.header("X-Org-ID").isEmpty() && seen.header("X-Roles").isEmpty());

        String token = Tokens.rs256(RSA, c -> c.claim("roles", null).claim("org_id", null));
        HttpRequest.Builder b = HttpRequest.newBuilder(sidegate.uri("/api/spoof")).header("Authorization", "Bearer " + token);
        for (int i = 0; i < spoof.length; i += 2) {
            b.header(spoof[i], spoof[i + 1]);
        }
        assertEquals(200, SidegateFixture.send(b.build()).statusCode());
        seen = upstream.last();
        assertEquals(List.of("usr_123"), seen.headers("X-User-ID"));
        assertTrue(seen.header("X-Org-ID").isEmpty(), "not in the token, so not at all");
        assertTrue(seen.header("X-Roles").isEmpty());
    }

    @Test
    void identityAndForwardingHeadersAreStrippedByEveryNameThatMeansTheSameToACgiUpstream() throws Exception {
        String yaml = ROUTES + """
                auth:
                  claims:
                    sub: X-User-ID
                    tenant: X-Tenant
                """;
        try (SidegateFixture sg = SidegateFixture.start(yaml, env(jwks))) {
            String token = Tokens.rs256(RSA, c -> c.claim("tenant", "t1"));
            RawHttp.Response response = RawHttp.exchange(sg.port(), "GET /api/cgi HTTP/1.1\r\nHost: c\r\n"
                    + "Authorization: Bearer " + token + "\r\n"
                    + "X-User_ID: admin\r\nx_user_id: admin\r\nX-USER-ID: admin\r\nX_Org_ID: org_evil\r\n"
                    + "X_Roles: root\r\nX_Tenant: evil\r\nX_Forwarded_For: 6.6.6.6\r\nX_Real_IP: 6.6.6.6\r\n"
                    + "X-Forwarded_Host: evil.example\r\nX_Forwarded_Proto: https\r\nConnection: close\r\n\r\n");
            assertEquals(200, response.status());
            TestUpstream.Recorded seen = upstream.last();
            java.util.Map<String, List<String>> byNormalName = new java.util.HashMap<>();
            seen.headers().forEach(h -> byNormalName.computeIfAbsent(h.getKey().toLowerCase(java.util.Locale.ROOT).replace('_', '-'),
                                                                     k -> new java.util.ArrayList<>()).add(h.getValue()));
            assertEquals(List.of("usr_123"), byNormalName.get("x-user-id"));
            assertEquals(List.of("t1"), byNormalName.get("x-tenant"));
            assertEquals(null, byNormalName.get("x-org-id"));
            assertEquals(null, byNormalName.get("x-roles"));
            assertEquals(List.of("127.0.0.1"), byNormalName.get("x-forwarded-for"));
            assertEquals(List.of("http"), byNormalName.get("x-forwarded-proto"));
            assertEquals(List.of("c"), byNormalName.get("x-forwarded-host"));
            assertEquals(null, byNormalName.get("x-real-ip"));
        }
    }

    @Test
    void aClaimHeaderNameOfSixtyFourCharactersOrMoreIsStrippedInEverySpellingToo() throws Exception {
        String name = "X-Tenant-" + "Long-".repeat(12) + "Name"; // 73 characters, in two spoofed spellings
        String yaml = ROUTES + """
                auth:
                  claims:
                    sub: X-User-ID
                    tenant: %s
                """.formatted(name);
        try (SidegateFixture sg = SidegateFixture.start(yaml, env(jwks))) {
            String token = Tokens.rs256(RSA, c -> c.claim("tenant", "t1"));
            RawHttp.Response response = RawHttp.exchange(sg.port(), "GET /api/long HTTP/1.1\r\nHost: c\r\n"
                    + "Authorization: Bearer " + token + "\r\n"
                    + name.replace('-', '_').toUpperCase(java.util.Locale.ROOT) + ": evil\r\n"
                    + name.toLowerCase(java.util.Locale.ROOT) + ": evil\r\n"
                    + "X-Unrelated-" + "Long-".repeat(12) + "Name: kept\r\nConnection: close\r\n\r\n");
            assertEquals(200, response.status());
            TestUpstream.Recorded seen = upstream.last();
            java.util.Map<String, List<String>> byNormalName = new java.util.HashMap<>();
            seen.headers().forEach(h -> byNormalName.computeIfAbsent(h.getKey().toLowerCase(java.util.Locale.ROOT).replace('_', '-'),
                                                                     k -> new java.util.ArrayList<>()).add(h.getValue()));
            assertEquals(List.of("t1"), byNormalName.get(name.toLowerCase(java.util.Locale.ROOT)));
            assertEquals(List.of("kept"), byNormalName.get(("X-Unrelated-" + "Long-".repeat(12) + "Name").toLowerCase(java.util.Locale.ROOT)));
        }
    }

    @Test
    void claimValuesArriveExactlyInTheDocumentedEncodingAndNeverTwoAsOne() {
        String yaml = ROUTES + """
                auth:
                  claims:
                    sub: X-User-ID
                    roles: X-Roles
                    profile: X-Profile
                """;
        try (SidegateFixture sg = SidegateFixture.start(yaml, env(jwks))) {
            java.util.Map<String, String> expected = new java.util.LinkedHashMap<>();
            expected.put("jos\u00e9", "jos%C3%A9");
            expected.put("jos\u00e8", "jos%C3%A8");
            expected.put("jos%C3%A9", "jos%25C3%25A9");
            expected.put("line\nbreak", "line%0Abreak");
            expected.put("tab\there", "tab%09here");
            expected.put(" padded ", "%20padded%20");
            expected.put("Jane Doe", "Jane Doe");
            expected.put("\u6771\u4eac", "%E6%9D%B1%E4%BA%AC");
            for (var e : expected.entrySet()) {
                String token = Tokens.rs256(RSA, c -> c.subject(e.getKey()));
                assertEquals(200, withToken(sg, "/api/enc", token).statusCode(), e.getKey());
                assertEquals(e.getValue(), upstream.last().header("X-User-ID").orElseThrow(), e.getKey());
            }
            String token = Tokens.rs256(RSA, c -> c.claim("roles", List.of("a,b", "c")).claim("profile", Map.of("team", "x y")));
            assertEquals(200, withToken(sg, "/api/enc", token).statusCode());
            assertEquals("a%2Cb,c", upstream.last().header("X-Roles").orElseThrow(), "a comma inside a role is not a separator");
            assertEquals("{\"team\":\"x y\"}", upstream.last().header("X-Profile").orElseThrow(), "objects are JSON");
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "empty sub      | \"sub\":\"\"             | the token's sub claim is empty",
            "blank sub      | \"sub\":\"   \"          | the token's sub claim is empty",
            "null sub       | \"sub\":null             | the token's sub claim is empty",
            "null exp       | \"sub\":\"u\",\"exp\":null   | the token's exp claim is not a time between 1970 and 9999",
            "huge exp       | \"sub\":\"u\",\"exp\":1e20   | the token has expired",
            "wrapping nbf   | \"sub\":\"u\",\"nbf\":18446744073709552 | the token's nbf claim is not a time between 1970 and 9999",
            "negative iat   | \"sub\":\"u\",\"iat\":-5     | the token's iat claim is not a time between 1970 and 9999",
    })
    void claimsThatCannotIdentifyOrExpireAreRejected(String kind, String claims, String reason) throws Exception {
        long exp = Instant.now().plusSeconds(600).getEpochSecond();
        String payload = "{\"iss\":\"" + Tokens.ISSUER + "\",\"aud\":\"" + Tokens.AUDIENCE + "\","
                + (claims.contains("\"exp\"") ? "" : "\"exp\":" + exp + ",") + claims + "}";
        HttpResponse<String> response = withToken(sidegate, "/api/x", Tokens.signRaw(RSA, payload));
        assertEquals(401, response.statusCode(), response.body());
        assertEquals(reason, problem(response).get("detail").asText());
    }

    @Test
    void rsaKeysUnder2048BitsInTheJwksAreNotUsed() {
        RSAKey weak = Tokens.weakRsa("weak-1");
        try (JwksServer weakJwks = new JwksServer(new JWKSet(List.of(weak, RSA)));
             SidegateFixture sg = SidegateFixture.start(ROUTES, env(weakJwks))) {
            HttpResponse<String> refused = withToken(sg, "/api/weak", Tokens.rs256WithJdk(weak, Tokens.claims("usr_weak").build()));
            assertEquals(401, refused.statusCode(), refused.body());
            assertEquals(200, withToken(sg, "/api/strong", Tokens.rs256(RSA, c -> { })).statusCode());
        }
    }

    @Test
    void aMissingTokenOnAProtectedRouteIs401WithTheRealm() throws Exception {
        int before = upstream.count();
        HttpResponse<String> response = get(sidegate, "/api/x");
        assertEquals(401, response.statusCode());
        assertEquals("Bearer realm=\"sidegate\"", response.headers().firstValue("WWW-Authenticate").orElseThrow());
        assertEquals("urn:sidegate:problem:unauthorized", problem(response).get("type").asText());
        assertEquals(before, upstream.count());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "expired          | the token has expired",
            "not-yet-valid    | the token is not valid yet",
            "wrong-issuer     | the token's issuer is not accepted",
            "wrong-audience   | the token's audience is not accepted",
            "no-exp           | the token lacks required claims [exp]",
            "bad-signature    | the token's signature does not verify",
            "alg-none         | unsigned tokens are not accepted",
            "hmac-with-rsa-public-key | the token's algorithm is not accepted",
            "unknown-kid      | no key matches the token's key id",
            "garbage          | the token is not a well-formed JWT",
    })
    void invalidTokensAre401InvalidToken(String kind, String reason) throws Exception {
        int before = upstream.count();
        HttpResponse<String> response = withToken(sidegate, "/api/x", badToken(kind));
        assertEquals(401, response.statusCode(), response.body());
        assertEquals("Bearer realm=\"sidegate\", error=\"invalid_token\", error_description=\"" + reason + "\"",
                     response.headers().firstValue("WWW-Authenticate").orElseThrow());
        JsonNode problem = problem(response);
        assertEquals("urn:sidegate:problem:invalid-token", problem.get("type").asText());
        assertEquals(reason, problem.get("detail").asText());
        assertEquals(before, upstream.count());
    }

    static String badToken(String kind) {
        Instant now = Instant.now();
        return switch (kind) {
            case "expired" -> Tokens.rs256(RSA, c -> c.expirationTime(Date.from(now.minusSeconds(120))));
            case "not-yet-valid" -> Tokens.rs256(RSA, c -> c.notBeforeTime(Date.from(now.plusSeconds(600))));
            case "wrong-issuer" -> Tokens.rs256(RSA, c -> c.issuer("https://evil.test"));
            case "wrong-audience" -> Tokens.rs256(RSA, c -> c.audience("another-api"));
            case "no-exp" -> Tokens.rs256(RSA, c -> c.expirationTime(null));
            case "bad-signature" -> Tokens.rs256(STRANGER, c -> { });
            case "alg-none" -> unsigned(Tokens.claims("usr_123").build());
            case "hmac-with-rsa-public-key" -> hmacWithPublicKey();
            case "unknown-kid" -> Tokens.rs256(Tokens.rsa("nobody-knows-me"), c -> { });
            default -> "not.a.jwt";
        };
    }

    static String unsigned(JWTClaimsSet claims) {
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        return b64.encodeToString("{\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + b64.encodeToString(claims.toString().getBytes(StandardCharsets.UTF_8)) + ".";
    }

    /** The classic confusion attack: HS256 with the RSA public key's bytes as the secret. */
    static String hmacWithPublicKey() {
        try {
            byte[] secret = RSA.toRSAPublicKey().getEncoded();
            com.nimbusds.jwt.SignedJWT jwt = new com.nimbusds.jwt.SignedJWT(
                    new com.nimbusds.jose.JWSHeader.Builder(JWSAlgorithm.HS256).keyID("rsa-1").build(),
                    Tokens.claims("usr_123").build());
            jwt.sign(new com.nimbusds.jose.crypto.MACSigner(secret));
            return jwt.serialize();
        } catch (com.nimbusds.jose.JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void clockSkewOfSixtySecondsIsToleratedByDefault() {
        Instant now = Instant.now();
        assertEquals(200, withToken(sidegate, "/api/skew",
                                    Tokens.rs256(RSA, c -> c.expirationTime(Date.from(now.minusSeconds(30))))).statusCode());
        assertEquals(401, withToken(sidegate, "/api/skew",
                                    Tokens.rs256(RSA, c -> c.expirationTime(Date.from(now.minusSeconds(90))))).statusCode());
    }

    @Test
    void aRoutePermissionNeedsThePermissionInTheTokenOrItsScope() throws Exception {
        HttpResponse<String> denied = withToken(sidegate, "/orders/1", Tokens.rs256(RSA, c -> { }));
        assertEquals(403, denied.statusCode());
        assertEquals("Bearer realm=\"sidegate\", error=\"insufficient_scope\", scope=\"orders:write\"",
                     denied.headers().firstValue("WWW-Authenticate").orElseThrow());
        assertEquals("urn:sidegate:problem:insufficient-scope", problem(denied).get("type").asText());

        assertEquals(200, withToken(sidegate, "/orders/1", Tokens.rs256(RSA, c -> c.claim("permissions", List.of("orders:write"))))
                .statusCode());
        assertEquals(200, withToken(sidegate, "/orders/1",
                                    Tokens.rs256(RSA, c -> c.claim("permissions", null).claim("scope", "profile orders:write")))
                .statusCode());
    }

    @Test
    void anAuditedPermissionAdmitsATokenWithoutItAndCountsWhatItWouldHaveDenied() throws Exception {
        String yaml = """
                routes:
                  - path: /orders
                    permission: orders:write
                    permission_mode: audit
                """;
        try (SidegateFixture sg = SidegateFixture.start(yaml, env(jwks))) {
            HttpResponse<String> admitted = withToken(sg, "/orders/1", Tokens.rs256(RSA, c -> { }));
            assertEquals(200, admitted.statusCode(), "audit mode admits");
            assertEquals("usr_123", upstream.last().header("X-User-ID").orElseThrow(), "the identity is still set");
            assertEquals(1, dev.sidegate.testing.Meters.value(sg, "sidegate_auth_audit_denied_total", "route=\"/orders\""));
            assertEquals(200, withToken(sg, "/orders/2", Tokens.rs256(RSA, c -> c.claim("permissions", List.of("orders:write"))))
                    .statusCode());
            assertEquals(1, dev.sidegate.testing.Meters.value(sg, "sidegate_auth_audit_denied_total", "route=\"/orders\""),
                         "a token with the permission is not counted");
            assertEquals(401, withToken(sg, "/orders/3", "not.a.jwt").statusCode(), "authentication is never audited");
            assertEquals(401, get(sg, "/orders/4").statusCode());
        }
        String message = org.junit.jupiter.api.Assertions.assertThrows(dev.sidegate.config.ConfigException.class,
                () -> SidegateFixture.start("routes:\n  - path: /a\n    permission_mode: audit\n", env(jwks))).getMessage();
        assertEquals("routes[0].permission_mode: audit applies to a route with a permission, and this one has none", message);
    }

    @Test
    void publicRoutesNeedNoTokenAndIgnoreABadOne() {
        assertEquals(200, get(sidegate, "/public/a").statusCode());
        assertTrue(upstream.last().header("X-User-ID").isEmpty());
        assertEquals(200, withToken(sidegate, "/public/b", "not.a.jwt").statusCode());
        assertTrue(upstream.last().header("Authorization").isEmpty());
        assertEquals(200, withToken(sidegate, "/public/c", Tokens.rs256(RSA, c -> { })).statusCode());
        assertEquals("usr_123", upstream.last().header("X-User-ID").orElseThrow(), "a valid token still identifies");
    }

    @Test
    void otherAuthorizationSchemesAreNotBearerTokens() {
        HttpResponse<String> response = get(sidegate, "/api/basic", "Authorization", "Basic dXNlcjpwYXNz");
        assertEquals(401, response.statusCode());
        assertEquals(200, get(sidegate, "/public/basic", "Authorization", "Basic dXNlcjpwYXNz").statusCode());
        assertEquals("Basic dXNlcjpwYXNz", upstream.last().header("Authorization").orElseThrow(),
                     "a public route leaves another scheme to the upstream");
    }

    @Test
    void malformedTokensAreAlways401NeverA500() {
        java.util.Random random = new java.util.Random(42);
        String valid = Tokens.rs256(RSA, c -> { });
        List<String> inputs = new java.util.ArrayList<>(List.of(
                "", ".", "..", "...", "a.b.c", "eyJ.eyJ.", valid.substring(0, valid.length() / 2),
                valid.replace('.', '!'), valid + "x", valid.substring(0, valid.lastIndexOf('.')),
                "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln", "e30.e30.e30", "W10.W10.W10",
                "x".repeat(20_000), valid.replace("eyJ", "eyK")));
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/~";
        for (int i = 0; i < 60; i++) {
            StringBuilder sb = new StringBuilder();
            int length = 1 + random.nextInt(300);
            for (int j = 0; j < length; j++) {
                sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            inputs.add(sb.toString());
            inputs.add(mutatePayload(valid, random));
        }
        for (String input : inputs) {
            HttpResponse<String> response = get(sidegate, "/api/fuzz", "Authorization", "Bearer " + input);
            assertEquals(401, response.statusCode(), input);
            if (input.length() > 8) {
                assertFalse(response.body().contains(input), "the token is never echoed");
            }
        }
    }

    /** Changes one payload character to another base64url letter or digit (never the last, which may be padding bits). */
    private static String mutatePayload(String token, java.util.Random random) {
        int start = token.indexOf('.') + 1;
        int end = token.indexOf('.', start) - 1;
        int at = start + random.nextInt(end - start);
        String letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        char replacement;
        do {
            replacement = letters.charAt(random.nextInt(letters.length()));
        } while (replacement == token.charAt(at));
        return token.substring(0, at) + replacement + token.substring(at + 1);
    }

    @Test
    void theAuthorizationHeaderIsForwardedWhenConfigured() {
        try (SidegateFixture sg = SidegateFixture.start(ROUTES + "auth:\n  forward_authorization: true\n", env(jwks))) {
            String token = Tokens.rs256(RSA, c -> { });
            assertEquals(200, withToken(sg, "/api/fwd", token).statusCode());
            assertEquals("Bearer " + token, upstream.last().header("Authorization").orElseThrow());
        }
    }

    @Test
    void theClaimToHeaderMappingIsConfigurable() {
        String yaml = ROUTES + """
                auth:
                  claims:
                    sub: X-Subject
                    email: X-Email
                    groups: X-Groups
                """;
        try (SidegateFixture sg = SidegateFixture.start(yaml, env(jwks))) {
            String token = Tokens.rs256(RSA, c -> c.claim("email", "u@example.com").claim("groups", List.of("a", "b")));
            assertEquals(200, get(sg, "/api/map", "Authorization", "Bearer " + token, "X-Email", "spoof@evil").statusCode());
            TestUpstream.Recorded seen = upstream.last();
            assertEquals("usr_123", seen.header("X-Subject").orElseThrow());
            assertEquals(List.of("u@example.com"), seen.headers("X-Email"));
            assertEquals("a,b", seen.header("X-Groups").orElseThrow());
            assertTrue(seen.header("X-User-ID").isEmpty(), "the default names are still stripped and no longer set");
        }
    }

    @Test
    void keyRotationNeedsNoRestartAndCachedKeysSurviveAJwksOutage() {
        RSAKey first = Tokens.rsa("k1");
        try (JwksServer rotating = new JwksServer(new JWKSet(first));
             SidegateFixture sg = SidegateFixture.start(ROUTES, env(rotating))) {
            assertEquals(200, withToken(sg, "/api/r", Tokens.rs256(first, c -> { })).statusCode());

            RSAKey second = Tokens.rsa("k2");
            rotating.keys(new JWKSet(List.of(first, second)));
            assertEquals(200, withToken(sg, "/api/r", Tokens.rs256(second, c -> { })).statusCode(),
                         "an unknown kid triggers a refetch that finds the new key");

            rotating.down(true);
            assertEquals(200, withToken(sg, "/api/r", Tokens.rs256(first, c -> c.subject("fresh-1"))).statusCode(),
                         "a fresh token (not in the verified cache) still verifies from the cached keys");
            assertEquals(200, withToken(sg, "/api/r", Tokens.rs256(second, c -> c.subject("fresh-2"))).statusCode());
        }
    }

    @Test
    void aFloodOfUnknownKeyIdsDoesNotHammerTheJwksEndpoint() {
        try (JwksServer counted = new JwksServer(new JWKSet(RSA));
             SidegateFixture sg = SidegateFixture.start(ROUTES, env(counted))) {
            int afterStartup = counted.hits();
            for (int i = 0; i < 50; i++) {
                assertEquals(401, withToken(sg, "/api/flood", Tokens.rs256(Tokens.rsa("unknown-" + i), c -> { })).statusCode());
            }
            int refetches = counted.hits() - afterStartup;
            assertTrue(refetches >= 1 && refetches <= 2, "an unknown kid is looked for, at most twice per interval: " + refetches);
        }
    }

    @Test
    void readinessWaitsForTheFirstJwksFetch() throws Exception {
        try (JwksServer late = new JwksServer(new JWKSet(RSA))) {
            late.down(true);
            try (SidegateFixture sg = SidegateFixture.start(ROUTES + "auth:\n  jwks:\n    refresh_min_interval: 1s\n", env(late))) {
                HttpResponse<String> notReady = sg.admin("/observe/health/ready");
                assertEquals(503, notReady.statusCode());
                assertTrue(notReady.body().contains("\"jwks\""), notReady.body());
                assertEquals(503, withToken(sg, "/api/early", Tokens.rs256(RSA, c -> { })).statusCode(),
                             "without keys a valid token cannot be checked: 503, not 401");
                late.down(false);
                Await.until(() -> sg.admin("/observe/health/ready").statusCode() == 200, "the JWKS is fetched in the background");
                assertEquals(200, withToken(sg, "/api/late", Tokens.rs256(RSA, c -> { })).statusCode());
            }
        }
    }

    @Test
    void aVerifiedTokenIsRememberedAndPassesAfterItsKeyLeavesTheJwks() {
        RSAKey key = Tokens.rsa("cache-key");
        String yaml = ROUTES + """
                auth:
                  jwks:
                    cache_ttl: 1s
                    refresh_min_interval: 250ms
                """;
        try (JwksServer keys = new JwksServer(new JWKSet(key));
             SidegateFixture sg = SidegateFixture.start(yaml, env(keys))) {
            String token = Tokens.rs256(key, c -> { });
            assertEquals(200, withToken(sg, "/api/c", token).statusCode());
            // The key leaves the JWKS. Once Sidegate has refetched the set, any token that needs a signature check
            // fails; the token verified before is remembered until it expires and still passes.
            keys.keys(new JWKSet(Tokens.rsa("other")));
            java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
            Await.until(() -> withToken(sg, "/api/c", Tokens.rs256(key, c -> c.subject("probe-" + n.incrementAndGet())))
                    .statusCode() == 401, "the JWKS without the key is fetched");
            assertEquals(200, withToken(sg, "/api/c", token).statusCode());
        }
    }

    @Test
    void aPemPublicKeyFileWorksWithoutAJwks() throws Exception {
        java.nio.file.Path pem = java.nio.file.Files.createTempFile("sidegate-key", ".pem");
        pem.toFile().deleteOnExit();
        java.nio.file.Files.writeString(pem, "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(RSA.toRSAPublicKey().getEncoded())
                + "\n-----END PUBLIC KEY-----\n");
        Map<String, String> env = Map.of("SIDEGATE_UPSTREAM", upstream.url(), "SIDEGATE_JWT_PUBLIC_KEY", pem.toString(),
                                         "SIDEGATE_JWT_ISSUER", Tokens.ISSUER, "SIDEGATE_JWT_AUDIENCE", Tokens.AUDIENCE);
        try (SidegateFixture sg = SidegateFixture.start(ROUTES, env)) {
            assertEquals(200, withToken(sg, "/api/pem", Tokens.rs256(RSA, c -> { })).statusCode());
            assertEquals(401, withToken(sg, "/api/pem", Tokens.rs256(STRANGER, c -> { })).statusCode());
        }
    }

    @Test
    void anHmacSecretAcceptsHs256Only() {
        byte[] secret = "0123456789abcdef0123456789abcdef-dev-only".getBytes(StandardCharsets.UTF_8);
        Map<String, String> env = Map.of("SIDEGATE_UPSTREAM", upstream.url(),
                                         "SIDEGATE_JWT_HMAC_SECRET", new String(secret, StandardCharsets.UTF_8),
                                         "SIDEGATE_JWT_ISSUER", Tokens.ISSUER, "SIDEGATE_JWT_AUDIENCE", Tokens.AUDIENCE);
        try (SidegateFixture sg = SidegateFixture.start(ROUTES, env)) {
            assertEquals(200, withToken(sg, "/api/h", Tokens.hs256(secret, Tokens.claims("dev").build())).statusCode());
            assertEquals("dev", upstream.last().header("X-User-ID").orElseThrow());
            assertEquals(401, withToken(sg, "/api/h", Tokens.rs256(RSA, c -> { })).statusCode(), "RS256 is not accepted");
            assertEquals(200, sg.admin("/admin/config").statusCode());
            assertFalse(sg.admin("/admin/config").body().contains("0123456789abcdef"), "the secret is redacted");
        }
    }

    @Test
    void withAuthOffNoRouteNeedsATokenButIdentityHeadersAreStillStripped() {
        try (SidegateFixture sg = SidegateFixture.start(ROUTES, Map.of("SIDEGATE_UPSTREAM", upstream.url()))) {
            assertEquals(200, get(sg, "/orders/1", "X-User-ID", "admin").statusCode());
            assertTrue(upstream.last().header("X-User-ID").isEmpty());
        }
    }
}
