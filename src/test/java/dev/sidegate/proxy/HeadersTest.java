package dev.sidegate.proxy;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class HeadersTest {

    @Test
    void hasNormalNameAgreesWithTheNormalFormForEveryKindOfName() {
        List<String> normals = List.of("x-user-id", "x-tenant", "k", "x-kelvin");
        List<String> names = List.of("X-User-ID", "x_user_id", "X_USER_ID", "X-User-I", "X-User-IDs", "x-user_ie", "Host", "",
                                     "K", "\u212A", "x-\u212Aelvin", "X-\u0130d", "x-tenant", "X_Tenant", "x-tenan", "\u00e9");
        for (String normal : normals) {
            for (String name : names) {
                assertEquals(Headers.normalName(name).equals(normal), Headers.hasNormalName(name, normal), name + " / " + normal);
            }
        }
    }
}
