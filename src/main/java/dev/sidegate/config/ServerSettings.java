package dev.sidegate.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Listener settings. All of them apply at startup only.
 *
 * @param port             proxy listener port (0 picks a free port, for tests)
 * @param adminPort        admin listener port: health, metrics, admin views
 * @param adminToken       bearer token that opens the admin views to peers other than loopback
 * @param tls              PEM certificate chain and key for the proxy listener, when it serves TLS
 * @param drainTimeout     how long in-flight requests may finish after SIGTERM
 * @param headerTimeout    how long a client may take to send the request headers after the request line
 * @param bodyTimeout      how long a read of the request body may wait for the client (408 beyond it)
 * @param idleTimeout      how long an idle keep-alive client connection stays open
 * @param maxHeaderSize    limit on the request header block in bytes (431 beyond it)
 * @param maxRequestLine   limit on the request line in bytes (414 beyond it)
 * @param maxConnections   client connections open at once; more are closed at accept
 * @param maxConnectionsPerIp client connections open at once from one address that is not a trusted proxy
 * @param trustedProxies   peers whose X-Forwarded-* headers are believed
 * @param paths            what the path normaliser rejects
 * @param keepAliveAfterChunked serve further requests on a connection after a request with a chunked body (false:
 *                         close it, so that a chunk framing Helidon reads leniently can never smuggle a request)
 * @param requestIdHeader  the header that carries each request's id, in and out
 * @param maxTunnels       WebSocket tunnels open at once; a handshake beyond it is answered 503
 * @param websocketMaxFrameBytes the largest WebSocket frame payload relayed, either way; a larger frame ends the tunnel
 * @param maxBufferedBodyBytes bytes of bodies that body transforms hold at once, across all requests; a body beyond it
 *                         is answered 503
 */
public record ServerSettings(int port,
                             int adminPort,
                             Optional<Secret> adminToken,
                             Optional<TlsFiles> tls,
                             Duration drainTimeout,
                             Duration headerTimeout,
                             Duration bodyTimeout,
                             Duration idleTimeout,
                             int maxHeaderSize,
                             int maxRequestLine,
                             int maxConnections,
                             int maxConnectionsPerIp,
                             List<Cidr> trustedProxies,
                             PathPolicy paths,
                             boolean keepAliveAfterChunked,
                             String requestIdHeader,
                             int maxTunnels,
                             long websocketMaxFrameBytes,
                             long maxBufferedBodyBytes) {

    public ServerSettings {
        trustedProxies = List.copyOf(trustedProxies);
    }

    /** The proxy listener's certificate chain and private key, both PEM files. */
    public record TlsFiles(Path certificate, Path privateKey) {
    }

    /**
     * What to do with path forms that upstream frameworks interpret differently from Sidegate's router.
     *
     * @param encodedSlashes {@code %2F} and {@code %5C} in a path: rejected (400) by default, or kept opaque
     * @param semicolons     a raw {@code ;} in a path (matrix parameters): rejected by default, or kept
     */
    public record PathPolicy(boolean rejectEncodedSlashes, boolean rejectSemicolons) {
    }
}
