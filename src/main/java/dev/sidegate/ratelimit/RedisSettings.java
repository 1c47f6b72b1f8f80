package dev.sidegate.ratelimit;

import java.time.Duration;
import java.util.List;

/**
 * Where the shared buckets live.
 *
 * @param urls    one URL ({@code redis://}, {@code rediss://}, {@code redis-sentinel://}), or several Cluster seed nodes
 * @param cluster whether to speak Redis Cluster
 * @param timeout per-command timeout
 */
public record RedisSettings(List<String> urls, boolean cluster, Duration timeout) {

    public RedisSettings {
        urls = List.copyOf(urls);
    }

    /** The URLs with passwords replaced, for logs and the admin view. */
    public List<String> redactedUrls() {
        return urls.stream().map(RedisSettings::redact).toList();
    }

    static String redact(String url) {
        return url.replaceAll("//[^/@]*@", "//<redacted>@");
    }

    @Override
    public String toString() {
        return "RedisSettings[urls=" + redactedUrls() + ", cluster=" + cluster + ", timeout=" + timeout + "]";
    }
}
