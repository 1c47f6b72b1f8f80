package dev.sidegate.config;

import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/** The process environment as configuration: blank values count as unset; a variable wins over the YAML value. */
public final class Env {
    private final Map<String, String> variables;

    public Env(Map<String, String> variables) {
        this.variables = Map.copyOf(variables);
    }

    /** The {@code OTEL_*} variables, which the OpenTelemetry SDK reads itself. */
    public Map<String, String> otel() {
        Map<String, String> otel = new java.util.HashMap<>();
        variables.forEach((name, value) -> {
            if (name.startsWith("OTEL_")) {
                otel.put(name, value);
            }
        });
        return otel;
    }

    public Optional<String> get(String name) {
        return Optional.ofNullable(variables.get(name)).map(String::trim).filter(v -> !v.isEmpty());
    }

    /**
     * The variable, parsed, if set; otherwise the YAML value. The YAML value is read either way, so that a bad or
     * unknown YAML value is reported even when the variable overrides it.
     */
    public <T> Optional<T> over(String name, Function<String, T> parse, Supplier<Optional<T>> yaml) {
        Optional<T> fromYaml = yaml.get();
        Optional<String> fromEnv = get(name);
        return fromEnv.isPresent() ? fromEnv.map(parse) : fromYaml;
    }
}
