package dev.sidegate.auth;

import java.util.List;

import dev.sidegate.proxy.Headers;
import dev.sidegate.proxy.ProxyRequest;
import dev.sidegate.proxy.ProxyResponse;
import dev.sidegate.proxy.Stage;

/**
 * The first stage, on every route, public ones too, with auth on or off: removes the identity headers that only
 * Sidegate may set ({@code X-User-ID}, {@code X-Org-ID}, {@code X-Roles} and every header of the claim mapping), so a
 * client can never claim an identity the upstream would trust.
 */
public final class StripIdentityHeaders implements Stage {
    private final List<String> names;

    public StripIdentityHeaders(List<String> names) {
        this.names = List.copyOf(names);
    }

    @Override
    public String name() {
        return "identity-headers";
    }

    @Override
    public ProxyResponse apply(ProxyRequest request, Chain chain) {
        Headers headers = request.headers();
        for (String name : names) {
            if (headers.contains(name)) {
                Headers.Builder cleaned = headers.toBuilder();
                names.forEach(cleaned::remove);
                return chain.proceed(request.withHeaders(cleaned.build()));
            }
        }
        return chain.proceed(request);
    }
}
