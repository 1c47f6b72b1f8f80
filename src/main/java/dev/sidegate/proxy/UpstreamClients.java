package dev.sidegate.proxy;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.helidon.common.socket.SocketOptions;
import io.helidon.http.HeaderNames;
import io.helidon.http.encoding.ContentEncodingContext;
import io.helidon.webclient.api.Proxy;
import io.helidon.webclient.api.WebClientServiceRequest;
import io.helidon.webclient.api.WebClientServiceResponse;
import io.helidon.webclient.spi.WebClientService;
import io.helidon.webclient.http1.Http1Client;
import io.helidon.webclient.http1.Http1ClientProtocolConfig;

/**
 * One Helidon HTTP/1.1 client, with its own keep-alive connection pool, per upstream and connect timeout.
 * Clients are configured as a proxy needs them: no redirects, no cookies, no content decoding, no system proxy,
 * no {@code Expect: 100-continue}.
 */
public final class UpstreamClients implements AutoCloseable {
    static final int MAX_RESPONSE_HEADER_SIZE = 64 * 1024;
    private static final int IDLE_CONNECTIONS_PER_UPSTREAM = 256;

    /** Request property: the client sent no User-Agent, so none goes upstream (Helidon would add its own). */
    static final String NO_USER_AGENT = "sidegate.no-user-agent";

    private final Map<Key, Http1Client> clients = new ConcurrentHashMap<>();

    private record Key(URI upstream, Duration connectTimeout) {
    }

    public Http1Client client(URI upstream, Duration connectTimeout) {
        return clients.computeIfAbsent(new Key(upstream, connectTimeout), UpstreamClients::create);
    }

    private static Http1Client create(Key key) {
        return Http1Client.builder()
                .followRedirects(false)
                .sendExpectContinue(false)
                // Unbuffered socket writes: a client that pauses mid-body must not leave bytes waiting in a buffer.
                .writeBufferSize(0)
                // With unbuffered writes a request's head and body are separate segments: without TCP_NODELAY the
                // body waits for the upstream's delayed ACK (40 ms per request with a body; found by loadtest/).
                .socketOptions(SocketOptions.builder().tcpNoDelay(true).build())
                .shareConnectionCache(false)
                .connectionCacheSize(IDLE_CONNECTIONS_PER_UPSTREAM)
                .servicesDiscoverServices(false)
                .addService(UpstreamClients::dropAddedUserAgent)
                .proxy(Proxy.noProxy())
                .connectTimeout(key.connectTimeout())
                .contentEncoding(ContentEncodingContext.builder().contentEncodingsDiscoverServices(false).build())
                .protocolConfig(Http1ClientProtocolConfig.builder()
                                        .maxHeaderSize(MAX_RESPONSE_HEADER_SIZE)
                                        .defaultKeepAlive(true)
                                        .build())
                .build();
    }

    private static WebClientServiceResponse dropAddedUserAgent(WebClientService.Chain chain, WebClientServiceRequest request) {
        if (request.properties().containsKey(NO_USER_AGENT)) {
            request.headers().remove(HeaderNames.USER_AGENT);
        }
        return chain.proceed(request);
    }

    @Override
    public void close() {
        for (Http1Client client : clients.values()) {
            client.closeResource();
        }
        clients.clear();
    }
}
