package dev.sidegate.admin;

import java.time.Duration;

import dev.sidegate.config.ServerSettings;
import dev.sidegate.proxy.ClientConnections;
import dev.sidegate.proxy.ErrorPages;
import io.helidon.common.socket.SocketOptions;
import io.helidon.http.encoding.ContentEncodingContext;
import dev.sidegate.telemetry.SidegateMetrics;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.observe.ObserveFeature;
import io.helidon.webserver.observe.health.HealthObserver;

/**
 * The admin port, a server of its own so that it outlives the proxy listener while requests drain: readiness reports
 * the drain and metrics stay scrapeable until the end. Health and metrics under {@code /observe}, Sidegate's views
 * under {@code /admin}.
 */
public final class AdminListener {
    /** Caps on the admin port: probes, scrapes and a port-forward need few connections; a flood must not starve them. */
    public static final int MAX_CONNECTIONS = 256;
    public static final int MAX_CONNECTIONS_PER_IP = 128;

    private AdminListener() {
    }

    /** @param metrics this Sidegate's meters, served at {@code /observe/metrics} in the Prometheus text format */
    public static WebServer create(ServerSettings s, Readiness readiness, AdminService views, SidegateMetrics metrics,
                                   ClientConnections connections) {
        return WebServer.builder()
                .shutdownHook(false)
                .featuresDiscoverServices(false)
                .host("0.0.0.0")
                .port(s.adminPort())
                .shutdownGracePeriod(Duration.ofMillis(500))
                .idleConnectionTimeout(s.idleTimeout())
                .idleConnectionPeriod(ClientConnections.idleCheckPeriod(s.idleTimeout()))
                .connectionOptions(connections.socketOptions(SocketOptions.builder().tcpNoDelay(true).build()))
                .protocolsDiscoverServices(false)
                .addProtocol(Http1Config.builder().addReceiveListener(connections).build())
                .contentEncoding(ContentEncodingContext.builder().contentEncodingsDiscoverServices(false).build())
                .directHandlers(ErrorPages.all(null))
                .routing(r -> r.register("/admin", views)
                        .get("/", views.page())
                        .get("/observe/metrics", (req, res) -> {
                            res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8"));
                            res.header(HeaderValues.create(HeaderNames.CACHE_CONTROL, "no-store"));
                            res.send(metrics.scrape().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                        }))
                .addFeature(ObserveFeature.builder()
                                    .observersDiscoverServices(false)
                                    .addObserver(HealthObserver.builder()
                                                         .useSystemServices(false)
                                                         .details(true)
                                                         .addCheck(readiness)
                                                         .build())
                                    .build())
                .build();
    }
}
