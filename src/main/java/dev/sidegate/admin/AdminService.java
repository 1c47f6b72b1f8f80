package dev.sidegate.admin;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

import dev.sidegate.config.ReloadResult;
import dev.sidegate.config.ReloadStatus;
import dev.sidegate.assembly.SidegateConfig;
import dev.sidegate.proxy.Problem;
import dev.sidegate.proxy.TraceIds;
import dev.sidegate.resilience.UpstreamGuards;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;

/**
 * Sidegate's own views on the admin port, under {@code /admin}. They show the whole topology and can trigger a reload,
 * so they answer loopback peers only (another container of the pod, {@code kubectl port-forward}), and other peers
 * only with {@code Authorization: Bearer <SIDEGATE_ADMIN_TOKEN>} when that token is set. Health and metrics, which
 * the kubelet and Prometheus reach on the pod address, are not under {@code /admin}.
 */
public final class AdminService implements HttpService {
    /** Made on the first admin view, not at start: Jackson's databind costs about 0.3 s of one core to set up. */
    private static final class Mapper {
        static final com.fasterxml.jackson.databind.ObjectMapper JSON = dev.sidegate.proxy.Json.mapper()
                .enable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT);
    }
    private final Supplier<SidegateConfig> config;
    private final UpstreamGuards guards;
    private final Supplier<ReloadResult> reload;
    private final Supplier<ReloadStatus> reloadStatus;
    private final java.util.Optional<dev.sidegate.config.Secret> token;

    private final AdminStatus status;

    public AdminService(Supplier<SidegateConfig> config, UpstreamGuards guards, Supplier<ReloadResult> reload,
                        Supplier<ReloadStatus> reloadStatus, java.util.Optional<dev.sidegate.config.Secret> token,
                        AdminStatus status) {
        this.config = config;
        this.guards = guards;
        this.reload = reload;
        this.reloadStatus = reloadStatus;
        this.token = token;
        this.status = status;
    }

    /** {@code GET /} on the admin port: the admin page, for the same peers as the views. */
    public io.helidon.webserver.http.Handler page() {
        AdminPage page = AdminPage.load();
        return (req, res) -> {
            if (!allowed(req)) {
                forbid(res);
                return;
            }
            page.send(res);
        };
    }

    /** Loopback peers, or any peer with the admin token. */
    private boolean allowed(io.helidon.webserver.http.ServerRequest req) {
        if (((java.net.InetSocketAddress) req.remotePeer().address()).getAddress().isLoopbackAddress()) {
            return true;
        }
        String authorization = req.headers().first(HeaderNames.AUTHORIZATION).orElse("");
        return token.isPresent() && authorization.regionMatches(true, 0, "Bearer ", 0, 7)
                && token.get().matches(authorization.substring(7).trim());
    }

    private void forbid(io.helidon.webserver.http.ServerResponse res) {
        res.status(Status.FORBIDDEN_403);
        res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, Problem.CONTENT_TYPE));
        res.header(HeaderValues.create(HeaderNames.CACHE_CONTROL, "no-store"));
        res.send(Problem.of(403, "admin-forbidden", "Admin views forbidden",
                            "the admin views answer loopback peers" + (token.isPresent()
                                    ? ", and others with the admin token" : "; set SIDEGATE_ADMIN_TOKEN to reach them from elsewhere"))
                         .toJson(TraceIds.random(), null));
    }

    @Override
    public void routing(HttpRules rules) {
        rules.any((req, res) -> {
            if (allowed(req)) {
                res.next();
                return;
            }
            forbid(res);
        });
        rules.get("/status", (req, res) -> {
            res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "application/json"));
            res.header(HeaderValues.create(HeaderNames.CACHE_CONTROL, "no-store"));
            res.send(Mapper.JSON.writeValueAsBytes(status.snapshot()));
        });
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
                                     .toJson(TraceIds.random(), null));
                    return;
                }
            }
            res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "application/json"));
            res.send(Mapper.JSON.writeValueAsBytes(body));
        });
        rules.get("/upstreams", (req, res) -> {
            res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "application/json"));
            res.header(HeaderValues.create(HeaderNames.CACHE_CONTROL, "no-store"));
            res.send(Mapper.JSON.writeValueAsBytes(guards.describe()));
        });
    }
}
