package dev.sidegate;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

import dev.sidegate.config.Messages;
import dev.sidegate.config.ServerSettings;
import dev.sidegate.proxy.ClientConnections;
import dev.sidegate.proxy.ErrorPages;
import dev.sidegate.proxy.HostHeaderCheck;
import dev.sidegate.proxy.PassThroughEncoding;
import dev.sidegate.proxy.ProxyHandler;
import io.helidon.common.configurable.Resource;
import io.helidon.common.socket.SocketOptions;
import io.helidon.common.tls.Tls;
import io.helidon.webserver.ErrorHandling;
import io.helidon.webserver.WebServer;
import io.helidon.http.HttpPrologue;
import io.helidon.http.WritableHeaders;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http1.Http1ConnectionSelector;
import io.helidon.webserver.http1.spi.Http1Upgrader;
import io.helidon.webserver.spi.ServerConnection;

/** The proxy port: Helidon's HTTP/1.1 listener as a proxy needs it, every request handed to the proxy handler. */
final class ProxyListener {
    private ProxyListener() {
    }

    static WebServer create(ServerSettings s, ProxyHandler handler, ClientConnections connections) {
        var builder = WebServer.builder()
                .shutdownHook(false)
                .featuresDiscoverServices(false)
                .host("0.0.0.0")
                .port(s.port())
                .shutdownGracePeriod(s.drainTimeout())
                .idleConnectionTimeout(s.idleTimeout())
                .idleConnectionPeriod(ClientConnections.idleCheckPeriod(s.idleTimeout()))
                // Responses are written as the upstream sends them; small writes must not wait for the client's ACK.
                .connectionOptions(connections.socketOptions(SocketOptions.builder().tcpNoDelay(true).build()))
                .maxPayloadSize(-1)
                .contentEncoding(new PassThroughEncoding())
                .directHandlers(ErrorPages.all(s.requestIdHeader()))
                .errorHandling(ErrorHandling.builder().includeEntity(true).build())
                .protocolsDiscoverServices(false)
                .addConnectionSelector(Http1ConnectionSelector.builder()
                                               .config(Http1Config.builder()
                                                               .maxHeadersSize(s.maxHeaderSize())
                                                               .maxPrologueLength(s.maxRequestLine())
                                                               // PathNormalizer validates paths with its own reasons
                                                               .validatePath(false)
                                                               // RFC 9112: persistence is the default in HTTP/1.1
                                                               .sendKeepAliveHeader(false)
                                                               // Helidon's Host check runs a regular expression per
                                                               // request; this one refuses the same without it. One
                                                               // listener only: see HostHeaderCheck
                                                               .validateRequestHostHeader(false)
                                                               .addReceiveListener(new HostHeaderCheck(connections))
                                                               .build())
                                               // Helidon looks the upgrader up by the Upgrade value as sent
                                               .addUpgrader(webSocket("websocket", handler))
                                               .addUpgrader(webSocket("WebSocket", handler))
                                               .build())
                .routing(r -> r.any(handler));
        s.tls().ifPresent(files -> builder.tls(Tls.builder()
                                                       .privateKey(k -> k.pem(p -> p.key(Resource.create(files.privateKey()))))
                                                       .privateKeyCertChain(k -> k.pem(p -> p.certChain(
                                                               Resource.create(files.certificate()))))
                                                       .build()));
        return builder.build();
    }

    /** WebSocket handshakes go to the proxy handler's tunnel path (routes with {@code websocket: true}). */
    private static Http1Upgrader webSocket(String protocol, ProxyHandler handler) {
        return new Http1Upgrader() {
            @Override
            public String supportedProtocol() {
                return protocol;
            }

            @Override
            public ServerConnection upgrade(ConnectionContext ctx, HttpPrologue prologue, WritableHeaders<?> headers) {
                return handler.upgrade(ctx, prologue, headers);
            }
        };
    }

    /** Fails with a one-line reason before Helidon logs a bind failure with a stack trace. */
    static void ensureFree(int port, String which) {
        if (port == 0) {
            return;
        }
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress("0.0.0.0", port));
        } catch (IOException e) {
            throw new IllegalStateException("the " + which + " port " + port + " is not available: " + Messages.oneLine(e));
        }
    }

    /** Helidon reports a listener that failed to bind by not running, not by throwing. */
    static WebServer started(WebServer server, String which, int port) {
        if (!server.isRunning()) {
            server.stop();
            throw new IllegalStateException("the " + which + " listener did not start on port " + port);
        }
        return server;
    }
}
