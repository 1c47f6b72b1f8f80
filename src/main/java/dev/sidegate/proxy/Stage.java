package dev.sidegate.proxy;

import java.time.Duration;
import java.util.Optional;

/**
 * One step of the request pipeline, in the manner of OkHttp's {@code Interceptor}. A stage either continues
 * with {@code chain.proceed(request)} (passing the request on, possibly changed, and possibly changing the
 * response that comes back) or answers itself by returning a response without calling the chain.
 *
 * <p>How failures travel: a stage that rejects a request returns a synthetic response, normally
 * {@code chain.exchange().problem(...)}; it does not throw. Anything a stage throws is a bug or an
 * unexpected failure: the client gets a 500 problem naming the stage, the error is logged once, and the
 * server keeps serving.
 *
 * <p>Each route has its own list of stages, built with that route's settings when a configuration is loaded; the
 * order is decided in one place, {@code dev.sidegate.assembly.Assembly}.
 */
@FunctionalInterface
public interface Stage {

    ProxyResponse apply(ProxyRequest request, Chain chain);

    /** Name used in the startup line and in 500 problems. */
    default String name() {
        return getClass().getSimpleName();
    }

    /** The rest of the pipeline, as seen from one stage. */
    interface Chain {
        /** What the pipeline knows about this request beyond the request itself. */
        Exchange exchange();

        /** Runs the remaining stages and the upstream call. */
        ProxyResponse proceed(ProxyRequest request);

        /** The response timeout an earlier stage set for what follows (a retry gets what is left); else empty. */
        Optional<Duration> responseTimeout();

        /** The same chain, with a response timeout for the stages after this one. */
        Chain withResponseTimeout(Duration timeout);
    }
}
