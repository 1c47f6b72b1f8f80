package dev.sidegate.config;

import java.util.List;

/** What one attempt to reload the configuration did. */
public sealed interface ReloadResult {

    /** The new configuration is in force; settings in {@code restartRequired} changed but apply at startup only. */
    record Applied(String version, List<String> restartRequired) implements ReloadResult {
        public Applied {
            restartRequired = List.copyOf(restartRequired);
        }
    }

    /** The file is the one in force already. */
    record Unchanged(String version) implements ReloadResult {
    }

    /** The file does not parse or validate; the last good configuration stays in force. */
    record Rejected(String reason) implements ReloadResult {
    }
}
