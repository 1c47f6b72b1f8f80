package dev.sidegate.plugin;

import java.util.Map;

import dev.sidegate.proxy.Stage;

/**
 * The plugin SPI: custom Java code that a route enables by name when configuration is not enough.
 *
 * <p>A plugin jar lists its implementations in {@code META-INF/services/dev.sidegate.plugin.Plugin}; Sidegate loads
 * every jar in {@code SIDEGATE_PLUGINS_DIR} at startup. A route enables a plugin with
 * {@code plugins: [{name: ..., config: {...}}]}; {@link #create} turns that config block into a {@link Stage} for the
 * route, once per configuration load. The stage runs after auth, rate limiting and the route's declarative request
 * transform, and before the circuit breaker and the upstream call: code before {@code chain.proceed} sees the
 * request ("before"), code after it sees the upstream's response ("after").
 *
 * <p>A stage that throws answers that request with a 500 problem naming the plugin; the server keeps serving.
 */
public interface Plugin {

    /** The name routes enable this plugin by: letters, digits, '-', '_' and '.'. */
    String name();

    /**
     * A stage for one route.
     *
     * @param config the route's config block for this plugin, as plain values (Map, List, String); empty when absent
     * @throws IllegalArgumentException when the config is invalid; the message is shown with the route's config key
     */
    Stage create(Map<String, Object> config);
}
