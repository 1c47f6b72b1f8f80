package dev.sidegate;

import dev.sidegate.assembly.Deployment;
import dev.sidegate.assembly.SidegateConfig;
import dev.sidegate.auth.AuthSettings;
import dev.sidegate.config.Durations;
import dev.sidegate.config.ServerSettings;

/** The one line Sidegate logs when it starts, and the warnings about a configuration that protects less than it says. */
final class StartupReport {
    private static final System.Logger LOG = System.getLogger(StartupReport.class.getName());

    private StartupReport() {
    }

    static void log(Deployment deployment, int port, int adminPort) {
        LOG.log(System.Logger.Level.INFO, describe(deployment, port, adminPort));
        warnAboutUnenforcedRoutes(deployment.config());
    }

    static String describe(Deployment deployment, int port, int adminPort) {
        SidegateConfig c = deployment.config();
        ServerSettings s = c.server();
        String scheme = s.tls().isPresent() ? "https" : "http";
        return "sidegate started: proxy=" + scheme + "://0.0.0.0:" + port
                + " admin=http://0.0.0.0:" + adminPort
                + " upstream=" + c.defaultUpstream()
                + " config=" + c.source().file().map(p -> p + " (version " + c.source().version() + ")").orElse("none")
                + " routes=" + (c.routesDeclared() ? c.routes().size() : "all-to-upstream")
                + " auth=" + c.auth().map(StartupReport::describeAuth).orElse("off")
                + " rate_limits=" + c.rateLimits().map(r -> r.redis().map(redis -> "redis " + String.join(",", redis.redactedUrls()))
                        .orElse("local")).orElse("off")
                + " stages=" + String.join(",", deployment.pipeline().stageNames())
                + " drain_timeout=" + Durations.format(s.drainTimeout());
    }

    private static String describeAuth(AuthSettings auth) {
        return switch (auth.keys()) {
            case AuthSettings.Jwks jwks -> "jwks " + jwks.url();
            case AuthSettings.PublicKeyFile file -> "public-key " + file.file();
            case AuthSettings.HmacSecret hmac -> "hmac-secret";
        };
    }

    private static void warnAboutUnenforcedRoutes(SidegateConfig config) {
        if (config.auth().isPresent()) {
            return;
        }
        LOG.log(System.Logger.Level.INFO, "auth is off: no route requires a token");
        for (var route : config.routes()) {
            if (route.permission().isPresent()) {
                LOG.log(System.Logger.Level.WARNING, "route " + route.path() + " names permission "
                        + route.permission().get() + " but auth is off: the route is open");
            }
        }
    }
}
