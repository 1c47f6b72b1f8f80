package dev.sidegate.config;

import java.time.Instant;
import java.util.List;

/**
 * The last reload, the last rejected one, and the startup-only settings that changed since startup, for the admin
 * views.
 *
 * @param rejectedAt      when the last reload was rejected (null: never)
 * @param rejectedReason  why, one line naming the key
 * @param restartRequired startup-only settings whose new values wait for a restart
 * @param last            the last reload attempt, whatever its result (null: none since start)
 */
public record ReloadStatus(Instant rejectedAt, String rejectedReason, List<String> restartRequired, Last last) {
    public static final ReloadStatus NONE = new ReloadStatus(null, null, List.of(), null);

    public ReloadStatus {
        restartRequired = List.copyOf(restartRequired);
    }

    /**
     * @param trigger what asked for it (file change, SIGHUP, POST /admin/reload)
     * @param result  applied, unchanged or rejected
     * @param version the version in force after it
     * @param error   the one-line reason when rejected, else null
     */
    public record Last(Instant at, String trigger, String result, String version, String error) {
    }

    public ReloadStatus applied(String trigger, String version, List<String> restart) {
        return new ReloadStatus(rejectedAt, rejectedReason, restart, new Last(Instant.now(), trigger, "applied", version, null));
    }

    public ReloadStatus unchanged(String trigger, String version) {
        return new ReloadStatus(rejectedAt, rejectedReason, restartRequired, new Last(Instant.now(), trigger, "unchanged", version, null));
    }

    public ReloadStatus rejected(String trigger, String versionInForce, String reason) {
        Instant now = Instant.now();
        return new ReloadStatus(now, reason, restartRequired, new Last(now, trigger, "rejected", versionInForce, reason));
    }
}
