package dev.sidegate.cors;

import java.util.List;
import java.util.Optional;

import dev.sidegate.proxy.Exchange;
import dev.sidegate.proxy.Problem;
import dev.sidegate.proxy.ProxyRequest;
import dev.sidegate.proxy.ProxyResponse;
import dev.sidegate.proxy.Stage;

/**
 * A WebSocket route's {@code websocket_origins}: a handshake a browser sends from another page's origin is refused
 * (403) before anything else runs. WebSockets are not subject to CORS, so without this check any site a user visits
 * could open a tunnel with the user's cookies (cross-site WebSocket hijacking). Clients that are not browsers send no
 * {@code Origin} and are not affected.
 */
public final class HandshakeOrigins implements Stage {
    private final List<CorsSettings.OriginPattern> allowed;

    public HandshakeOrigins(List<CorsSettings.OriginPattern> allowed) {
        this.allowed = List.copyOf(allowed);
    }

    @Override
    public String name() {
        return "websocket-origin";
    }

    @Override
    public ProxyResponse apply(ProxyRequest request, Chain chain) {
        Exchange exchange = chain.exchange();
        Optional<String> origin = request.header("Origin");
        if (exchange.upgrade().isPresent() && origin.isPresent() && !CorsSettings.matchesAny(allowed, origin.get())) {
            String shown = origin.get().length() > 100 ? origin.get().substring(0, 100) + "..." : origin.get();
            return exchange.problem(Problem.of(403, "websocket-origin-refused", "WebSocket origin refused",
                    "a WebSocket handshake from origin '" + shown.replaceAll("[^\\x20-\\x7e]", "?") + "' is not allowed on "
                            + exchange.route().id()));
        }
        return chain.proceed(request);
    }
}
