package dev.sidegate.example;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import dev.sidegate.plugin.Plugin;
import dev.sidegate.proxy.Headers;
import dev.sidegate.proxy.ProxyResponse;
import dev.sidegate.proxy.Stage;

/**
 * An example plugin: stamps fixed headers on the request before it goes upstream and on the response after it
 * comes back. Enable it on a route with
 *
 * <pre>
 * plugins:
 *   - name: stamp
 *     config:
 *       request_headers: {X-Team: payments}
 *       response_headers: {X-Served-By: sidegate}
 * </pre>
 */
public final class StampPlugin implements Plugin {
    private static final Set<String> KEYS = Set.of("request_headers", "response_headers");

    @Override
    public String name() {
        return "stamp";
    }

    @Override
    public Stage create(Map<String, Object> config) {
        for (String key : config.keySet()) {
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException("unknown key '" + key + "' (known: request_headers, response_headers)");
            }
        }
        Map<String, String> before = headers(config, "request_headers");
        Map<String, String> after = headers(config, "response_headers");
        if (before.isEmpty() && after.isEmpty()) {
            throw new IllegalArgumentException("give request_headers or response_headers");
        }
        return (request, chain) -> {
            ProxyResponse response = chain.proceed(request.withHeaders(stamp(request.headers(), before)));
            return response.withHeaders(stamp(response.headers(), after));
        };
    }

    private static Headers stamp(Headers headers, Map<String, String> values) {
        if (values.isEmpty()) {
            return headers;
        }
        Headers.Builder b = headers.toBuilder();
        values.forEach(b::set);
        return b.build();
    }

    private static Map<String, String> headers(Map<String, Object> config, String key) {
        Object value = config.get(key);
        if (value == null) {
            return Map.of();
        }
        if (!(value instanceof Map<?, ?> map)) {
            throw new IllegalArgumentException(key + " must map header names to values");
        }
        Map<String, String> headers = new LinkedHashMap<>();
        map.forEach((name, v) -> {
            if (!(v instanceof String s) || !String.valueOf(name).matches("[A-Za-z0-9-]+")) {
                throw new IllegalArgumentException(key + "." + name + " must be a header name with a text value");
            }
            headers.put(String.valueOf(name), s);
        });
        return headers;
    }
}
