package dev.sidegate.auth;

import java.util.HashMap;
import java.util.Map;

import dev.sidegate.config.ConfigException;
import dev.sidegate.assembly.ConfigLoader;
import dev.sidegate.assembly.SidegateConfig;
import dev.sidegate.testing.SidegateFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Auth configuration is strict: every missing or contradictory setting stops startup with one line. */
class AuthSettingsTest {
    private static final String SECRET = "0123456789abcdef0123456789abcdef";

    private static SidegateConfig load(String yaml, Map<String, String> env) {
        Map<String, String> all = new HashMap<>(env);
        if (yaml != null) {
            all.put("SIDEGATE_CONFIG", SidegateFixture.writeTemp(yaml).toString());
        }
        return ConfigLoader.load(all);
    }

    @Test
    void authIsOffWithoutAKeySource() {
        assertTrue(load(null, Map.of()).auth().isEmpty());
    }

    @Test
    void environmentAndYamlBothConfigureAuth() {
        AuthSettings fromEnv = load(null, Map.of("SIDEGATE_JWT_HMAC_SECRET", SECRET, "SIDEGATE_JWT_ISSUER", "i",
                                                 "SIDEGATE_JWT_AUDIENCE", "a, b")).auth().orElseThrow();
        assertEquals(java.util.List.of("a", "b"), fromEnv.audiences());
        assertEquals(java.time.Duration.ofSeconds(60), fromEnv.clockSkew());
        assertEquals(java.util.List.of("permissions", "scope"), fromEnv.permissionsClaims());
        assertEquals("tier", fromEnv.tierClaim());
        AuthSettings fromYaml = load("""
                auth:
                  jwks_url: https://idp.example/jwks.json
                  issuer: https://idp.example/
                  audience: [api]
                  clock_skew: 5s
                  tier_claim: plan
                  permissions_claims: [scp]
                """, Map.of()).auth().orElseThrow();
        assertEquals("https://idp.example/jwks.json", ((AuthSettings.Jwks) fromYaml.keys()).url().toString());
        assertEquals("plan", fromYaml.tierClaim());
        assertEquals(java.util.List.of("scp"), fromYaml.permissionsClaims());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "auth: {hmac_secret: " + SECRET + ", audience: a}                 | auth.issuer: required when auth is on (tokens from any issuer would be accepted)",
            "auth: {hmac_secret: " + SECRET + ", issuer: i}                   | auth.audience: required when auth is on (tokens for any audience would be accepted)",
            "auth: {hmac_secret: short, issuer: i, audience: a}               | auth.hmac_secret: must be at least 32 bytes for HS256",
            "auth: {issuer: i, audience: a}                                   | auth.issuer: auth needs a key source: set SIDEGATE_JWT_JWKS_URL, SIDEGATE_JWT_PUBLIC_KEY or SIDEGATE_JWT_HMAC_SECRET",
            "auth: {jwks_url: 'https://x/j', hmac_secret: " + SECRET + ", issuer: i, audience: a} | auth.jwks_url: set exactly one of SIDEGATE_JWT_JWKS_URL, SIDEGATE_JWT_PUBLIC_KEY and SIDEGATE_JWT_HMAC_SECRET",
            "auth: {jwks_url: 'http://idp:8080/j', issuer: i, audience: a}    | auth.jwks_url: must be https:// (keys fetched over plain HTTP can be forged on the way); set auth.allow_insecure_jwks_url: true to accept http://idp:8080/j",
            "auth: {jwks_url: 'ftp://idp/j', issuer: i, audience: a}          | auth.jwks_url: expected an https:// URL, got 'ftp://idp/j'",
            "auth: {public_key: /no/key.pem, issuer: i, audience: a}          | auth.public_key: cannot read '/no/key.pem'",
            "auth: {public_key: /etc/hostname, issuer: i, audience: a}        | auth.public_key: '/etc/hostname' is not a PEM public key (-----BEGIN PUBLIC KEY-----)",
            "auth: {hmac_secret: " + SECRET + ", issuer: i, audience: a, clock_skew: 1h} | auth.clock_skew: must be at most 10m, got 1h",
            "auth: {hmac_secret: " + SECRET + ", issuer: i, audience: a, claims: {sub: 'Bad Header'}} | auth.claims.sub: not a valid header name: 'Bad Header'",
            "auth: {hmac_secret: " + SECRET + ", issuer: i, audience: a, jwks: {cache_ttl: 10s, refresh_min_interval: 10s}} | auth.jwks.refresh_min_interval: must be shorter than auth.jwks.cache_ttl (10s), got 10s",
            "auth: {hmac_secret: " + SECRET + ", issuer: i, audience: a, unknown: 1} | auth.unknown: unknown key",
            "routes: [{path: /a, public: true, permission: p}]                | routes[0].permission: a public route cannot require a permission",
    })
    void badAuthSettingsFailWithOneLine(String yaml, String expected) {
        assertEquals(expected, assertThrows(ConfigException.class, () -> load(yaml, Map.of())).getMessage());
    }

    @Test
    void httpJwksOnLoopbackOrWithExplicitOptInIsAccepted() {
        assertTrue(load("auth: {jwks_url: 'http://127.0.0.1:1/j', issuer: i, audience: a}", Map.of()).auth().isPresent());
        assertTrue(load("auth: {jwks_url: 'http://idp:8080/j', issuer: i, audience: a, allow_insecure_jwks_url: true}", Map.of())
                           .auth().isPresent());
    }
}
