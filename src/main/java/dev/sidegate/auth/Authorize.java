package dev.sidegate.auth;

import dev.sidegate.proxy.ProxyRequest;
import dev.sidegate.proxy.ProxyResponse;
import dev.sidegate.proxy.Stage;

/** Enforces what {@link Authenticate} decided: refused requests get their 401, 403 or 503 problem here. */
final class Authorize implements Stage {

    @Override
    public String name() {
        return "authorize";
    }

    @Override
    public ProxyResponse apply(ProxyRequest request, Chain chain) {
        return chain.exchange().denial().map(chain.exchange()::problem).orElseGet(() -> chain.proceed(request));
    }
}
