package dev.sidegate.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.sidegate.assembly.ConfigLoader;
import dev.sidegate.assembly.RouteSettings;
import dev.sidegate.assembly.SidegateConfig;
import dev.sidegate.testing.SidegateFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigLoaderTest {

    private static SidegateConfig load(String yaml, Map<String, String> env) {
        Map<String, String> all = new HashMap<>(env);
        if (yaml != null) {
            all.put("SIDEGATE_CONFIG", SidegateFixture.writeTemp(yaml).toString());
        }
        return ConfigLoader.load(all);
    }

    private static String error(String yaml, Map<String, String> env) {
        return assertThrows(ConfigException.class, () -> load(yaml, env)).getMessage();
    }

    @Test
    void defaultsWithoutFileOrEnvironment() {
        SidegateConfig c = load(null, Map.of());
        assertEquals(8000, c.server().port());
        assertEquals(9901, c.server().adminPort());
        assertEquals("http://127.0.0.1:8080", c.defaultUpstream().toString());
        assertEquals(Duration.ofSeconds(30), c.server().drainTimeout());
        assertFalse(c.routesDeclared());
        assertEquals(1, c.routes().size());
        assertEquals("/", c.routes().get(0).path());
        assertEquals("none", c.source().version());
        assertTrue(c.server().paths().rejectEncodedSlashes());
    }

    @Test
    void theSampleRouteShapeFromTheIssueLoads() {
        SidegateConfig c = load("""
                routes:
                  - path: /api/v1/orders
                    methods: [GET, POST]            # optional, default all
                    upstream: http://127.0.0.1:8082 # optional, default SIDEGATE_UPSTREAM
                    timeout: 5s                     # optional
                    public: false
                    permission: orders:write
                """, Map.of());
        RouteSettings r = c.routes().get(0);
        assertEquals("/api/v1/orders", r.path());
        assertEquals(java.util.Set.of("GET", "POST"), r.methods());
        assertEquals("http://127.0.0.1:8082", r.upstream().toString());
        assertEquals(Duration.ofSeconds(5), r.timeout());
        assertEquals("orders:write", r.permission().orElseThrow());
        assertTrue(c.routesDeclared());
        assertEquals(12, c.source().version().length());
    }

    @Test
    void environmentWinsOverTheFile() {
        SidegateConfig c = load("""
                server:
                  port: 7000
                  drain_timeout: 10s
                upstream: http://127.0.0.1:9000
                """, Map.of("SIDEGATE_PORT", "7100", "SIDEGATE_UPSTREAM", "http://localhost:9100",
                            "SIDEGATE_DRAIN_TIMEOUT", "1m"));
        assertEquals(7100, c.server().port());
        assertEquals("http://localhost:9100", c.defaultUpstream().toString());
        assertEquals(Duration.ofMinutes(1), c.server().drainTimeout());
        assertEquals("http://localhost:9100", c.routes().get(0).upstream().toString());
    }

    @Test
    void durationsAcceptMillisecondsSecondsMinutesAndHours() {
        SidegateConfig c = load("""
                server:
                  header_timeout: 250ms
                  idle_timeout: 2h
                routes:
                  - path: /a
                    timeout: 1m
                """, Map.of());
        assertEquals(Duration.ofMillis(250), c.server().headerTimeout());
        assertEquals(Duration.ofHours(2), c.server().idleTimeout());
        assertEquals(Duration.ofMinutes(1), c.routes().get(0).timeout());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "serevr: {port: 1}                                  | serevr.port: unknown key",
            "routes: [{path: /a, timeoutt: 5s}]                  | routes[0].timeoutt: unknown key",
            "routes: [{path: /a, timeout: 5 seconds}]            | routes[0].timeout: expected a duration such as 250ms, 5s, 1m or 2h, got '5 seconds'",
            "routes: [{path: /a, timeout: 0s}]                   | routes[0].timeout: must be greater than zero, got '0s'",
            "routes: [{path: /a, upstream: 'http//x'}]           | routes[0].upstream: no upstream named 'http//x' (names: default), and not a URL",
            "routes: [{path: /a, upstream: 'ftp://x'}]           | routes[0].upstream: expected an http:// or https:// URL, got 'ftp://x'",
            "routes: [{path: /a, upstream: 'http://x:8080/base'}] | routes[0].upstream: URL must not have a path (requests keep their own path), got 'http://x:8080/base'",
            "routes: [{path: /a, upstream: 'http://a b'}]         | routes[0].upstream: malformed URL 'http://a b': Illegal character in authority",
            "routes: [{methods: [GET]}]                          | routes[0].path: every route needs a path",
            "routes: [{path: /a, methods: [CONNECT]}]            | routes[0].methods[0]: CONNECT (tunnelling) is not supported",
            "routes: [{path: /a, public: maybe}]                 | routes[0].public: expected true or false, got 'maybe'",
            "routes: {path: /a}                                  | routes: expected a list, got a section",
            "server: {port: 70000}                               | server.port: must be between 0 and 65535, got 70000",
            "server: {trusted_proxies: [10.0.0.0/33]}            | server.trusted_proxies[0]: prefix length must be 0-32 in '10.0.0.0/33'",
            "server: {trusted_proxies: [not-an-ip]}              | server.trusted_proxies[0]: expected an IP address or CIDR block such as 10.0.0.0/8, got 'not-an-ip'",
            "server: {paths: {encoded_slashes: decode}}          | server.paths.encoded_slashes: expected one of reject, keep, got 'decode'",
            "server: {tls: {cert: /etc/hostname}}                | SIDEGATE_TLS_KEY: TLS needs both a certificate and a key; only one of SIDEGATE_TLS_CERT and SIDEGATE_TLS_KEY is set",
            "server: {max_header_size: 10}                       | server.max_header_size: must be between 1024 and 1048576, got 10",
    })
    void badValuesFailWithOneLineNamingTheKey(String yaml, String expected) {
        assertEquals(expected, error(yaml, Map.of()));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "SIDEGATE_PORT         | abc                   | SIDEGATE_PORT: expected a whole number, got 'abc'",
            "SIDEGATE_PORT         | tcp://10.0.0.1:8000   | SIDEGATE_PORT: expected a port number, got 'tcp://10.0.0.1:8000' (Kubernetes sets this for a Service named 'sidegate'; set enableServiceLinks: false on the pod)",
            "SIDEGATE_ADMIN_PORT   | 8000                  | SIDEGATE_ADMIN_PORT: must differ from the proxy port 8000",
            "SIDEGATE_UPSTREAM     | localhost:8080        | SIDEGATE_UPSTREAM: expected an http:// or https:// URL, got 'localhost:8080'",
            "SIDEGATE_UPSTREAM     | http://user:pw@h:1    | SIDEGATE_UPSTREAM: URL must not carry user info: 'http://<redacted>@h:1'",
            "SIDEGATE_DRAIN_TIMEOUT | 30                   | SIDEGATE_DRAIN_TIMEOUT: expected a duration such as 250ms, 5s, 1m or 2h, got '30'",
            "SIDEGATE_TRUSTED_PROXIES | 10.0.0.0/8,bogus   | SIDEGATE_TRUSTED_PROXIES: expected an IP address or CIDR block such as 10.0.0.0/8, got 'bogus'",
            "SIDEGATE_CONFIG       | /no/such/file.yaml    | SIDEGATE_CONFIG: cannot read '/no/such/file.yaml': no such file",
            "SIDEGATE_TLS_CERT     | /no/cert.pem          | SIDEGATE_TLS_KEY: TLS needs both a certificate and a key; only one of SIDEGATE_TLS_CERT and SIDEGATE_TLS_KEY is set",
    })
    void badEnvironmentVariablesFailNamingTheVariable(String name, String value, String expected) {
        assertEquals(expected, error(null, Map.of(name, value)));
    }

    @Test
    void anUnreadableTlsFileIsNamed() {
        assertEquals("SIDEGATE_TLS_CERT: cannot read '/no/cert.pem'",
                     error(null, Map.of("SIDEGATE_TLS_CERT", "/no/cert.pem", "SIDEGATE_TLS_KEY", "/etc/hostname")));
    }

    @Test
    void aFileThatIsNotYamlIsRejectedInOneLine() {
        String message = error("routes: [ {path: /a\n  - : :", Map.of());
        assertTrue(message.startsWith("SIDEGATE_CONFIG: '"), message);
        assertTrue(message.contains("is not valid YAML"), message);
        assertFalse(message.contains("\n"), "one line");
    }

    @Test
    void aKeyTwiceInOneMappingIsRejectedAndValuesKeepTheirText() {
        String twice = error("server:\n  port: 7000\n  port: 7001\n", Map.of());
        assertTrue(twice.contains("is not valid YAML") && twice.contains("duplicate key port"), twice);
        assertFalse(twice.contains("\n"), "one line");

        SidegateConfig c = load("routes:\n  - path: /v1.0\n    permission: 010\n", Map.of());
        assertEquals("/v1.0", c.routes().get(0).path());
        assertEquals("010", c.routes().get(0).permission().orElseThrow(), "no implicit number typing");
    }

    @Test
    void anEmptyFileMeansDefaults() {
        SidegateConfig c = load("# nothing yet\n", Map.of());
        assertEquals(8000, c.server().port());
        assertFalse(c.routesDeclared());
    }

    @Test
    void trustedProxiesComeFromEnvOrFile() {
        assertEquals(List.of("10.0.0.0/8", "fd00::/8"),
                     load(null, Map.of("SIDEGATE_TRUSTED_PROXIES", "10.0.0.0/8, fd00::/8"))
                             .server().trustedProxies().stream().map(Object::toString).toList());
        assertEquals(List.of("192.168.0.1"),
                     load("server: {trusted_proxies: [192.168.0.1]}", Map.of())
                             .server().trustedProxies().stream().map(Object::toString).toList());
    }

    @Test
    void cidrMatchingIsExact() {
        Cidr block = Cidr.parse("k", "10.1.0.0/17");
        assertTrue(block.contains(ip("10.1.127.255")));
        assertFalse(block.contains(ip("10.1.128.0")));
        assertFalse(block.contains(ip("::1")));
        assertTrue(Cidr.parse("k", "fd00::/8").contains(ip("fd12::1")));
    }

    @Test
    void aRequestIdHeaderMustBeAHeaderNameWithNoMeaningOfItsOwn() {
        assertEquals("server.request_id_header: not a header name: 'X Request'",
                     error("server:\n  request_id_header: X Request\n", Map.of()));
        assertEquals("server.request_id_header: 'Authorization' has a meaning of its own; choose another name",
                     error("server:\n  request_id_header: Authorization\n", Map.of()));
        assertEquals("server.request_id_header: 'X-User-ID' is an identity header (stripped from clients and set from the "
                             + "token); choose another name",
                     error("server:\n  request_id_header: X-User-ID\n", Map.of()));
        assertEquals("X-Request-Id", load("", Map.of()).server().requestIdHeader());
    }

    private static java.net.InetAddress ip(String literal) {
        try {
            return java.net.InetAddress.getByName(literal);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

}
