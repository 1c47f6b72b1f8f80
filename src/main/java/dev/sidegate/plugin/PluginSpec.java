package dev.sidegate.plugin;

import java.util.Map;

/**
 * A plugin enabled on a route.
 *
 * @param name   the plugin's name
 * @param config its config block, as plain values
 * @param key    where it is configured, for messages (e.g. {@code routes[2].plugins[0]})
 */
public record PluginSpec(String name, Map<String, Object> config, String key) {
    public PluginSpec {
        config = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(config));
    }
}
