package dev.sidegate.admin;

import java.util.function.Supplier;

import dev.sidegate.config.SidegateConfig;
import dev.sidegate.resilience.UpstreamGuards;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;

/** Sidegate's own views on the admin port, under {@code /admin}. */
public final class AdminService implements HttpService {
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper()
            .enable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT);
    private final Supplier<SidegateConfig> config;
    private final UpstreamGuards guards;

    public AdminService(Supplier<SidegateConfig> config, UpstreamGuards guards) {
        this.config = config;
        this.guards = guards;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/config", (req, res) -> {
            res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "application/json"));
            res.header(HeaderValues.create(HeaderNames.CACHE_CONTROL, "no-store"));
            res.send(EffectiveConfig.render(config.get()));
        });
        rules.get("/upstreams", (req, res) -> {
            res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "application/json"));
            res.header(HeaderValues.create(HeaderNames.CACHE_CONTROL, "no-store"));
            res.send(JSON.writeValueAsBytes(guards.describe()));
        });
    }
}
