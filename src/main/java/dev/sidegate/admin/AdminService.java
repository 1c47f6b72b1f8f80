package dev.sidegate.admin;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

import dev.sidegate.config.ReloadResult;
import dev.sidegate.config.ReloadStatus;
import dev.sidegate.config.SidegateConfig;
import dev.sidegate.proxy.Problem;
import dev.sidegate.proxy.TraceIds;
import dev.sidegate.resilience.UpstreamGuards;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;

/** Sidegate's own views on the admin port, under {@code /admin}. */
public final class AdminService implements HttpService {
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = dev.sidegate.proxy.Json.mapper()
            .enable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT);
    private final Supplier<SidegateConfig> config;
    private final UpstreamGuards guards;
    private final Supplier<ReloadResult> reload;
    private final Supplier<ReloadStatus> reloadStatus;

    public AdminService(Supplier<SidegateConfig> config, UpstreamGuards guards, Supplier<ReloadResult> reload,
                        Supplier<ReloadStatus> reloadStatus) {
        this.config = config;
        this.guards = guards;
        this.reload = reload;
        this.reloadStatus = reloadStatus;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/config", (req, res) -> {
            res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "application/json"));
            res.header(HeaderValues.create(HeaderNames.CACHE_CONTROL, "no-store"));
            res.send(EffectiveConfig.render(config.get(), reloadStatus.get()));
        });
        rules.post("/reload", (req, res) -> {
            Map<String, Object> body = new LinkedHashMap<>();
            switch (reload.get()) {
                case ReloadResult.Applied applied -> {
                    body.put("result", "applied");
                    body.put("version", applied.version());
                    body.put("restart_required", applied.restartRequired());
                }
                case ReloadResult.Unchanged unchanged -> {
                    body.put("result", "unchanged");
                    body.put("version", unchanged.version());
                }
                case ReloadResult.Rejected rejected -> {
                    res.status(Status.create(422, "Unprocessable Content"));
                    res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, Problem.CONTENT_TYPE));
                    res.send(Problem.of(422, "config-rejected", "Configuration rejected", rejected.reason())
                                     .toJson(TraceIds.random()));
                    return;
                }
            }
            res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "application/json"));
            res.send(JSON.writeValueAsBytes(body));
        });
        rules.get("/upstreams", (req, res) -> {
            res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "application/json"));
            res.header(HeaderValues.create(HeaderNames.CACHE_CONTROL, "no-store"));
            res.send(JSON.writeValueAsBytes(guards.describe()));
        });
    }
}
