package dev.sidegate;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import dev.sidegate.assembly.Assembly;
import dev.sidegate.assembly.Deployment;
import dev.sidegate.assembly.SharedParts;
import dev.sidegate.assembly.SidegateConfig;
import dev.sidegate.config.ConfigException;
import dev.sidegate.config.ConfigWatcher;
import dev.sidegate.config.ReloadResult;
import dev.sidegate.config.ReloadStatus;
import dev.sidegate.config.ServerSettings;

/**
 * Applies configuration changes without a restart. The whole new deployment is built off the request path; only
 * when it built does it become the one requests get, atomically, so each request runs entirely on the old or on
 * the new configuration. A file that does not parse, validate or build changes nothing live.
 */
final class Reloader implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Reloader.class.getName());

    private final AtomicReference<Deployment> current;
    private final SharedParts shared;
    private final SidegateConfig startup;
    private final long retireDelayMillis;
    private volatile Supplier<SidegateConfig> source;
    private volatile ConfigWatcher watcher;
    private volatile ReloadStatus status = ReloadStatus.NONE;
    private volatile boolean closed;

    Reloader(AtomicReference<Deployment> current, SharedParts shared) {
        this.current = current;
        this.shared = shared;
        this.startup = current.get().config();
        // The old deployment's stages may still be running requests for as long as the drain lasts.
        this.retireDelayMillis = startup.server().drainTimeout().toMillis() + 1000;
    }

    ReloadStatus status() {
        return status;
    }

    /** Names where reloads read the configuration from, and whether to watch its file (if any) for changes. */
    void reloadFrom(Supplier<SidegateConfig> source, boolean watch) {
        this.source = source;
        if (watch) {
            startup.source().file().ifPresent(file -> watcher = new ConfigWatcher(file, () -> reload("file change"), 1000,
                                                                                  shared.housekeeping()));
        }
    }

    synchronized ReloadResult reload(String trigger) {
        Supplier<SidegateConfig> from = source;
        if (from == null || closed) {
            return new ReloadResult.Rejected("this Sidegate has no configuration source to reload from");
        }
        Deployment old = current.get();
        SidegateConfig loaded;
        Deployment built;
        try {
            loaded = from.get();
            if (loaded.source().version().equals(old.config().source().version())) {
                status = status.unchanged(trigger, loaded.source().version());
                return new ReloadResult.Unchanged(loaded.source().version());
            }
            built = Assembly.build(loaded.withServer(startup.server()), shared);
        } catch (ConfigException e) {
            status = status.rejected(trigger, old.config().source().version(), e.getMessage());
            shared.metrics().configReload("rejected");
            LOG.log(System.Logger.Level.WARNING, "configuration reload (" + trigger + ") rejected, version "
                    + old.config().source().version() + " stays in force: " + e.getMessage());
            return new ReloadResult.Rejected(e.getMessage());
        }
        built.activate();
        current.set(built);
        shared.housekeeping().schedule(old::retire, retireDelayMillis, TimeUnit.MILLISECONDS);
        List<String> restart = startupOnlyChanges(startup, loaded);
        status = status.applied(trigger, built.config().source().version(), restart);
        shared.metrics().configReload("ok");
        SidegateConfig next = built.config();
        LOG.log(System.Logger.Level.INFO, "configuration reloaded (" + trigger + "): version " + old.config().source().version()
                + " -> " + next.source().version() + ", routes=" + (next.routesDeclared() ? next.routes().size() : "all-to-upstream")
                + " stages=" + String.join(",", built.pipeline().stageNames()));
        if (!restart.isEmpty()) {
            LOG.log(System.Logger.Level.WARNING, "changed settings that apply at startup only, in force after a restart: "
                    + String.join(", ", restart));
        }
        return new ReloadResult.Applied(next.source().version(), restart);
    }

    /** Startup-only settings (listeners, TLS, tracing) whose value in the source differs from the running one. */
    static List<String> startupOnlyChanges(SidegateConfig running, SidegateConfig file) {
        ServerSettings a = running.server();
        ServerSettings b = file.server();
        List<String> changed = new ArrayList<>();
        record Setting(String key, Object before, Object after) {
        }
        for (Setting s : List.of(
                new Setting("server.port", a.port(), b.port()),
                new Setting("server.admin_port", a.adminPort(), b.adminPort()),
                new Setting("SIDEGATE_ADMIN_TOKEN", a.adminToken(), b.adminToken()),
                new Setting("server.tls", a.tls(), b.tls()),
                new Setting("server.drain_timeout", a.drainTimeout(), b.drainTimeout()),
                new Setting("server.header_timeout", a.headerTimeout(), b.headerTimeout()),
                new Setting("server.body_timeout", a.bodyTimeout(), b.bodyTimeout()),
                new Setting("server.idle_timeout", a.idleTimeout(), b.idleTimeout()),
                new Setting("server.max_header_size", a.maxHeaderSize(), b.maxHeaderSize()),
                new Setting("server.max_request_line", a.maxRequestLine(), b.maxRequestLine()),
                new Setting("server.max_connections", a.maxConnections(), b.maxConnections()),
                new Setting("server.max_connections_per_ip", a.maxConnectionsPerIp(), b.maxConnectionsPerIp()),
                new Setting("server.trusted_proxies", a.trustedProxies(), b.trustedProxies()),
                new Setting("server.paths", a.paths(), b.paths()),
                new Setting("server.after_chunked_request", a.keepAliveAfterChunked(), b.keepAliveAfterChunked()),
                new Setting("server.request_id_header", a.requestIdHeader(), b.requestIdHeader()),
                new Setting("server.max_tunnels", a.maxTunnels(), b.maxTunnels()),
                new Setting("server.websocket_max_frame_bytes", a.websocketMaxFrameBytes(), b.websocketMaxFrameBytes()),
                new Setting("server.max_buffered_body_bytes", a.maxBufferedBodyBytes(), b.maxBufferedBodyBytes()),
                new Setting("OTEL_*", running.otelEnvironment(), file.otelEnvironment()))) {
            if (!s.before().equals(s.after())) {
                changed.add(s.key());
            }
        }
        return changed;
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (watcher != null) {
            watcher.close();
        }
    }
}
