package dev.sidegate.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Notices when the configuration file changes and asks for a reload. It polls the file's content (through
 * symlinks) once a second rather than relying on file-system events: a Kubernetes ConfigMap is updated by swapping a
 * {@code ..data} symlink, which events on the file itself never report, while an in-place write, an atomic rename
 * and a symlink swap all change what reading the path returns.
 */
public final class ConfigWatcher implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ConfigWatcher.class.getName());

    private final Path file;
    private final Runnable onChange;
    private final java.util.concurrent.ScheduledFuture<?> polling;
    private byte[] lastContent;
    private boolean missingReported;

    /** @param timers polls the file every {@code periodMillis} */
    public ConfigWatcher(Path file, Runnable onChange, long periodMillis, ScheduledExecutorService timers) {
        this.file = file;
        this.onChange = onChange;
        this.lastContent = read();
        this.polling = timers.scheduleWithFixedDelay(this::check, periodMillis, periodMillis, TimeUnit.MILLISECONDS);
    }

    private void check() {
        byte[] content = read();
        if (content == null) {
            if (!missingReported) {
                LOG.log(System.Logger.Level.WARNING, "configuration file " + file + " cannot be read; the last good "
                        + "configuration stays in force");
                missingReported = true;
            }
            return; // mid-swap or removed: keep the last good configuration, look again next time
        }
        missingReported = false;
        if (!Arrays.equals(content, lastContent)) {
            lastContent = content;
            try {
                onChange.run();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "reloading " + file + " failed: " + Messages.oneLine(e));
            }
        }
    }

    private byte[] read() {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public void close() {
        polling.cancel(false);
    }
}
