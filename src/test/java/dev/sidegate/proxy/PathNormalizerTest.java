package dev.sidegate.proxy;

import dev.sidegate.config.ServerSettings.PathPolicy;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

class PathNormalizerTest {
    private static final PathNormalizer STRICT = new PathNormalizer(new PathPolicy(true, true));
    private static final PathNormalizer LENIENT = new PathNormalizer(new PathPolicy(false, false));

    @ParameterizedTest
    @CsvSource({
            "/, /",
            "/api/v1/orders, /api/v1/orders",
            "/api/v1/orders/, /api/v1/orders/",
            "/api//v1///orders, /api/v1/orders",
            "/api/./v1/orders, /api/v1/orders",
            "/api/v1/x/../orders, /api/v1/orders",
            "/api/v1/orders/.., /api/v1/",
            "/api/v1/orders/., /api/v1/orders/",
            "/api/%2e%2e/admin, /admin",
            "/api/%2E%2e/admin, /admin",
            "/%61pi/v1, /api/v1",
            "/a%7eb, /a~b",
            "/files/my%20doc, /files/my%20doc",
            "/caf%c3%a9, /caf%C3%A9",
            "/a/.hidden/b, /a/.hidden/b",
            "/a/..b/c, /a/..b/c",
    })
    void normalises(String raw, String expected) {
        PathNormalizer.Result result = STRICT.normalize(raw);
        assertEquals(new PathNormalizer.Normalized(expected), result);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "relative", "", "/a/%zz", "/a/%4", "/a%", "/a/%00", "/a/%0a", "/a/%7F", "/a b", "/a\tb",
            "/..", "/a/../..", "/%2e%2e/etc", "/a/%2F/b", "/a/%2f", "/a/%5C", "/a\\b", "/a;jsessionid=1", "/caf\u00e9",
            "/a|b", "/a{b}", "/a\"b", "/a<b>", "/a^b", "/a`b", "/a[0]", "/a#b"})
    void rejects(String raw) {
        assertInstanceOf(PathNormalizer.Rejected.class, STRICT.normalize(raw), raw);
    }

    @ParameterizedTest
    @CsvSource({
            "/a/%2f/b, /a/%2F/b",
            "/a;v=1/b, /a;v=1/b",
    })
    void lenientPolicyKeepsEncodedSlashesAndSemicolonsOpaque(String raw, String expected) {
        assertEquals(new PathNormalizer.Normalized(expected), LENIENT.normalize(raw));
    }
}
