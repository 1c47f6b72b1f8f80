package dev.sidegate.proxy;

import java.util.List;
import java.util.Set;

import dev.sidegate.config.ConfigException;
import dev.sidegate.config.ServerSettings.PathPolicy;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RouteTableTest {
    private static final PathPolicy POLICY = new PathPolicy(true, true);

    private static Route route(String path, String... methods) {
        return new Route(path, Set.of(methods), "default", true);
    }

    private static String matched(RouteTable table, String method, String path) {
        RouteTable.Match m = table.match(method, path);
        return m instanceof RouteTable.Matched matched ? matched.route().id() : m.getClass().getSimpleName();
    }

    @Test
    void longestPrefixOnWholeSegmentsWins() {
        RouteTable table = RouteTable.create(List.of(route("/api"), route("/api/v1/orders"), route("/")), POLICY);
        assertEquals("/api/v1/orders", matched(table, "GET", "/api/v1/orders"));
        assertEquals("/api/v1/orders", matched(table, "GET", "/api/v1/orders/7"));
        assertEquals("/api", matched(table, "GET", "/api/v1/ordersX"));
        assertEquals("/api", matched(table, "GET", "/api"));
        assertEquals("/", matched(table, "GET", "/apix"));
    }

    @Test
    void noMatchIsNotFound() {
        RouteTable table = RouteTable.create(List.of(route("/api")), POLICY);
        assertEquals("NotFound", matched(table, "GET", "/other"));
        assertEquals("NotFound", matched(table, "GET", "/"));
    }

    @Test
    void aPrefixThatMatchesWithoutTheMethodIsMethodNotAllowedNotAShorterRoute() {
        RouteTable table = RouteTable.create(List.of(route("/admin", "GET"), route("/admin", "DELETE"), route("/")), POLICY);
        assertEquals("/admin", matched(table, "DELETE", "/admin/users/1"));
        RouteTable.Match m = table.match("POST", "/admin/users");
        assertInstanceOf(RouteTable.MethodNotAllowed.class, m);
        assertEquals(Set.of("GET", "DELETE"), ((RouteTable.MethodNotAllowed) m).allowed());
    }

    @Test
    void routesWithoutMethodsAcceptEverythingButTraceAndConnect() {
        RouteTable table = RouteTable.create(List.of(route("/")), POLICY);
        assertEquals("/", matched(table, "PATCH", "/x"));
        assertEquals("/", matched(table, "PROPFIND", "/x"));
        assertEquals("MethodNotAllowed", matched(table, "TRACE", "/x"));
        RouteTable withTrace = RouteTable.create(List.of(route("/", "TRACE")), POLICY);
        assertEquals("/", matched(withTrace, "TRACE", "/x"));
    }

    @Test
    void routePathsMustBeNormalised() {
        for (String bad : new String[] {"/api/", "/api//v1", "/api/../x", "relative", "/a?b=1", "/%61pi"}) {
            ConfigException e = assertThrows(ConfigException.class, () -> RouteTable.create(List.of(route(bad)), POLICY), bad);
            assertEquals("routes[0].path", e.key());
        }
    }

    @Test
    void overlappingRoutesAreRefused() {
        ConfigException e = assertThrows(ConfigException.class,
                                         () -> RouteTable.create(List.of(route("/a", "GET"), route("/a", "GET", "POST")), POLICY));
        assertEquals("routes[1]", e.key());
        assertTrue(e.getMessage().contains("routes[0]"));
    }
}
