package dev.sidegate.resilience;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

import dev.sidegate.config.ConfigView;
import dev.sidegate.upstream.ConnectionSettings;

/**
 * One upstream and how Sidegate protects it: its circuit breaker and its concurrency limit (bulkhead).
 *
 * @param name          the name routes use ({@code default} is {@code SIDEGATE_UPSTREAM}); an upstream given to a
 *                      route as a URL is named by its host and port
 * @param url           base URL
 * @param breaker       circuit breaker settings
 * @param maxConcurrent in-flight requests allowed at once; over it: 503 at once
 * @param connections   how connections to it are pooled, and the CAs an https upstream is verified against
 */
public record UpstreamSettings(String name, URI url, BreakerSettings breaker, int maxConcurrent,
                               ConnectionSettings connections) {
    public static final String DEFAULT_NAME = "default";
    public static final int DEFAULT_MAX_CONCURRENT = 1024;
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,62}");

    /** An upstream with default protection. */
    public static UpstreamSettings withDefaults(String name, URI url) {
        return new UpstreamSettings(name, url, BreakerSettings.DEFAULT, DEFAULT_MAX_CONCURRENT, ConnectionSettings.DEFAULT);
    }

    /** Named upstreams from the {@code upstreams} section; {@code default} takes its URL from the default upstream. */
    public static Map<String, UpstreamSettings> parse(ConfigView upstreams, URI defaultUpstream,
                                                      java.util.function.Function<ConfigView, URI> urlParser) {
        Map<String, UpstreamSettings> result = new LinkedHashMap<>();
        for (Map.Entry<String, ConfigView> e : upstreams.children().entrySet()) {
            String name = e.getKey();
            ConfigView u = e.getValue();
            if (!NAME.matcher(name).matches()) {
                throw u.invalid("an upstream name uses lower-case letters, digits, '_', '.' and '-'");
            }
            URI url;
            if (name.equals(DEFAULT_NAME)) {
                if (u.get("url").exists()) {
                    throw u.get("url").invalid("the default upstream's URL is the top-level 'upstream' (or SIDEGATE_UPSTREAM)");
                }
                url = defaultUpstream;
            } else {
                if (!u.get("url").exists()) {
                    throw u.get("url").invalid("every named upstream needs a url");
                }
                url = urlParser.apply(u.get("url"));
            }
            int maxConcurrent = (int) u.integer("max_concurrent", 1, 1_000_000).orElse((long) DEFAULT_MAX_CONCURRENT).longValue();
            result.put(name, new UpstreamSettings(name, url, BreakerSettings.parse(u.get("circuit_breaker")), maxConcurrent,
                                                  ConnectionSettings.parse(u, url.getScheme().equals("https"))));
        }
        return result;
    }

    /** The name of an upstream that a route gives as a URL. */
    public static String nameFor(URI url) {
        return url.getHost() + ":" + url.getPort();
    }
}
