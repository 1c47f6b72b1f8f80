package dev.sidegate.config;

/**
 * A configuration value that Sidegate cannot use. The message is one line: the key (a YAML path such as
 * {@code routes[0].timeout} or an environment variable such as {@code SIDEGATE_PORT}), a colon, and the reason.
 */
public final class ConfigException extends RuntimeException {
    private final String key;
    private final String reason;

    public ConfigException(String key, String reason) {
        super(key + ": " + reason, null, false, false);
        this.key = key;
        this.reason = reason;
    }

    public String key() {
        return key;
    }

    public String reason() {
        return reason;
    }
}
