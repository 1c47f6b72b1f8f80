package dev.sidegate;

import dev.sidegate.assembly.Assembly;
import dev.sidegate.assembly.Deployment;
import dev.sidegate.assembly.SharedParts;
import dev.sidegate.assembly.SidegateConfig;

/** Builds the production deployment of a configuration without starting servers, and discards it again. */
public final class SidegateTestAccess {
    private SidegateTestAccess() {
    }

    /** Builds and discards; throws what the build throws. */
    public static void build(SidegateConfig config) {
        try (SharedParts shared = SharedParts.create(config)) {
            Assembly.build(config, shared).discard();
        }
    }
}
