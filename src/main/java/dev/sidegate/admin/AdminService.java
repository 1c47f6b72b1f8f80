package dev.sidegate.admin;

import java.util.function.Supplier;

import dev.sidegate.config.SidegateConfig;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;

/** Sidegate's own views on the admin port, under {@code /admin}. */
public final class AdminService implements HttpService {
    private final Supplier<SidegateConfig> config;

    public AdminService(Supplier<SidegateConfig> config) {
        this.config = config;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/config", (req, res) -> {
            res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "application/json"));
            res.header(HeaderValues.create(HeaderNames.CACHE_CONTROL, "no-store"));
            res.send(EffectiveConfig.render(config.get()));
        });
    }
}
