package dev.sidegate;

import dev.sidegate.config.SidegateConfig;
import dev.sidegate.proxy.Pipeline;

/** Lets tests in other packages build the production pipeline without starting servers. */
public final class SidegateTestAccess {
    private SidegateTestAccess() {
    }

    public static Pipeline pipeline(SidegateConfig config) {
        return Sidegate.pipeline(config, Sidegate.Shared.create(config));
    }
}
