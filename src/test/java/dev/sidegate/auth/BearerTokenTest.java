package dev.sidegate.auth;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RFC 6750's b64token, checked by hand (the request path's check; AuthTest sends such tokens through the server). */
class BearerTokenTest {

    @ParameterizedTest
    @ValueSource(strings = {"a", "abc", "abc=", "abc==", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "A-Z.a_z~0+9/", "x/+="})
    void b64tokensAreAccepted(String token) {
        assertTrue(BearerToken.token68(token), token);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "=", "==abc", "abc=d", "ab c", "a,b", "a\u00e9", "a\tb", "abc=\u0000", "a\"b", "a:b", "a=="+" "})
    void anythingElseIsRejected(String token) {
        assertFalse(BearerToken.token68(token), token);
    }
}
