package dev.sidegate.ratelimit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Where the shared buckets live.
 *
 * @param urls    one URL ({@code redis://}, {@code rediss://}, {@code redis-sentinel://}), or several Cluster seed nodes
 * @param cluster whether to speak Redis Cluster
 * @param timeout per-command timeout
 * @param caFile  PEM certificates to trust for {@code rediss://} instead of the JVM's trust store (a private CA)
 */
public record RedisSettings(List<String> urls, boolean cluster, Duration timeout, Optional<Path> caFile) {

    public RedisSettings {
        urls = List.copyOf(urls);
    }

    /** The URLs with passwords replaced, for logs and the admin view. */
    public List<String> redactedUrls() {
        return urls.stream().map(RedisSettings::redact).toList();
    }

    static String redact(String url) {
        return dev.sidegate.config.Messages.redactUserInfo(url);
    }

    @Override
    public String toString() {
        return "RedisSettings[urls=" + redactedUrls() + ", cluster=" + cluster + ", timeout=" + timeout + ", caFile=" + caFile + "]";
    }
}
