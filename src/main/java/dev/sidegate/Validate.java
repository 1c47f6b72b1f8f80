package dev.sidegate;

import java.io.PrintStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import dev.sidegate.assembly.Assembly;
import dev.sidegate.assembly.ConfigLoader;
import dev.sidegate.assembly.Deployment;
import dev.sidegate.assembly.SharedParts;
import dev.sidegate.assembly.SidegateConfig;
import dev.sidegate.auth.AuthSettings;
import dev.sidegate.config.ConfigException;
import dev.sidegate.config.Durations;
import dev.sidegate.proxy.Route;
import dev.sidegate.ratelimit.Limit;
import dev.sidegate.ratelimit.RateLimitSettings;
import dev.sidegate.resilience.UpstreamSettings;

/**
 * {@code sidegate validate [FILE]}: the configuration and the environment checked exactly as start-up checks them
 * (every key, jq expressions compiled, plugins loaded, files read), and the pipeline built, with no listener and
 * no network: the key source and Redis are built but never started, so nothing is fetched or connected.
 */
final class Validate {
    static final int VALID = 0;
    static final int INVALID = 2;

    private Validate() {
    }

    /**
     * @param file the configuration file to check instead of {@code SIDEGATE_CONFIG}'s (null: the environment's)
     * @return the exit status: {@value #VALID} valid, {@value #INVALID} invalid (the start-up error on {@code err})
     */
    static int run(Map<String, String> environment, String file, PrintStream out, PrintStream err) {
        Map<String, String> env = new HashMap<>(environment);
        if (file != null) {
            env.put(ConfigLoader.ENV_CONFIG, file);
        }
        try {
            SidegateConfig config = ConfigLoader.load(env);
            SharedParts shared = SharedParts.create(config);
            try {
                Deployment deployment = Assembly.build(config, shared);
                try {
                    out.print(summary(config, deployment));
                } finally {
                    deployment.discard();
                }
            } finally {
                shared.close();
            }
            return VALID;
        } catch (ConfigException e) {
            err.println("sidegate: configuration error: " + e.getMessage());
            return INVALID;
        }
    }

    static String summary(SidegateConfig config, Deployment deployment) {
        StringBuilder s = new StringBuilder();
        s.append("sidegate: configuration valid: ")
                .append(config.source().file().map(Object::toString).orElse("no file (environment only)"))
                .append(" (version ").append(config.source().version()).append(")\n");
        s.append("routes (the longest matching prefix wins):\n");
        for (Route route : deployment.pipeline().routes().routes()) {
            String methods = route.methods().isEmpty() ? "any method" : String.join(",", route.methods());
            String stages = deployment.pipeline().stages(route).stream().map(st -> st.name()).collect(Collectors.joining(" > "));
            s.append("  ").append(route.id()).append("  [").append(methods).append("] -> ").append(route.upstream())
                    .append("\n      ").append(stages).append('\n');
        }
        s.append("upstreams:\n");
        for (UpstreamSettings u : config.upstreams().values()) {
            s.append("  ").append(u.name()).append("  ").append(u.url()).append("  max_concurrent ").append(u.maxConcurrent())
                    .append(u.breaker().enabled() ? "  breaker on" : "  breaker off").append('\n');
        }
        s.append("auth: ").append(config.auth().map(Validate::auth).orElse("off")).append('\n');
        s.append("rate limits: ").append(config.rateLimits().map(Validate::limits).orElse("off")).append('\n');
        return s.toString();
    }

    private static String auth(AuthSettings a) {
        String keys = switch (a.keys()) {
            case AuthSettings.Jwks j -> "JWKS " + j.url();
            case AuthSettings.PublicKeyFile f -> "public key " + f.file();
            case AuthSettings.HmacSecret h -> "HMAC secret";
        };
        return keys + (a.issuer() == null ? "" : ", issuer " + a.issuer())
                + (a.audiences().isEmpty() ? "" : ", audience " + String.join(",", a.audiences()));
    }

    private static String limits(RateLimitSettings r) {
        String where = r.redis().map(redis -> "Redis " + String.join(",", redis.redactedUrls())).orElse("in process");
        return where + "; tiers " + limitList(r.tiers()) + (r.routes().isEmpty() ? "" : "; routes " + limitList(r.routes()));
    }

    private static String limitList(Map<String, Limit> limits) {
        List<String> each = limits.entrySet().stream()
                .map(e -> e.getKey() + " " + e.getValue().requests() + "/" + Durations.format(e.getValue().window()))
                .toList();
        return String.join(", ", each);
    }
}
