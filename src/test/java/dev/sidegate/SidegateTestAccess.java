package dev.sidegate;

import dev.sidegate.config.SidegateConfig;
import dev.sidegate.proxy.Pipeline;
import dev.sidegate.proxy.UpstreamClients;

/** Lets tests in other packages build the production pipeline without starting servers. */
public final class SidegateTestAccess {
    private SidegateTestAccess() {
    }

    public static Pipeline pipeline(SidegateConfig config, UpstreamClients clients) {
        return Sidegate.pipeline(config, Sidegate.Shared.create(config));
    }
}
