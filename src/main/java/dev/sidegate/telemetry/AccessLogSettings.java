package dev.sidegate.telemetry;

import dev.sidegate.config.ConfigView;

/**
 * The {@code access_log} section: one JSON line per request on stdout.
 *
 * @param enabled    false: no access log
 * @param sampleRate fraction of requests logged (0..1); responses with status 500 or more are always logged
 */
public record AccessLogSettings(boolean enabled, double sampleRate) {
    public static final AccessLogSettings DEFAULT = new AccessLogSettings(true, 1.0);

    public static AccessLogSettings parse(ConfigView section) {
        boolean enabled = section.bool("enabled").orElse(true);
        double rate = section.string("sample_rate").map(v -> {
            try {
                double d = Double.parseDouble(v);
                if (d < 0 || d > 1 || Double.isNaN(d)) {
                    throw section.get("sample_rate").invalid("must be between 0 and 1, got " + v);
                }
                return d;
            } catch (NumberFormatException e) {
                throw section.get("sample_rate").invalid("expected a number between 0 and 1, got '" + v + "'");
            }
        }).orElse(1.0);
        return new AccessLogSettings(enabled, rate);
    }
}
