package dev.sidegate.auth;

import dev.sidegate.proxy.ProxyRequest;
import dev.sidegate.proxy.ProxyResponse;
import dev.sidegate.proxy.Stage;

/** Enforces what {@link Authenticate} decided: rejected requests get their 401, 403 or 503 problem here. */
public final class Authorize implements Stage {

    @Override
    public String name() {
        return "authorize";
    }

    @Override
    public ProxyResponse apply(ProxyRequest request, Chain chain) {
        return switch (chain.exchange().note(AuthOutcome.class).orElse(new AuthOutcome.Anonymous())) {
            case AuthOutcome.Rejected rejected -> chain.exchange().problem(rejected.problem());
            case AuthOutcome.Anonymous anonymous -> chain.proceed(request);
            case AuthOutcome.Authenticated authenticated -> chain.proceed(request);
        };
    }
}
