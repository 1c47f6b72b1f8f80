package dev.sidegate.config;

import java.time.Instant;
import java.util.List;

/**
 * The last rejected reload, and the startup-only settings that changed since startup, for the admin view.
 *
 * @param rejectedAt      when the last reload was rejected (null: never)
 * @param rejectedReason  why, one line naming the key
 * @param restartRequired startup-only settings whose new values wait for a restart
 */
public record ReloadStatus(Instant rejectedAt, String rejectedReason, List<String> restartRequired) {
    public static final ReloadStatus NONE = new ReloadStatus(null, null, List.of());

    public ReloadStatus {
        restartRequired = List.copyOf(restartRequired);
    }
}
