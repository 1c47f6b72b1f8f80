package dev.sidegate.upstream;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

import dev.sidegate.config.ConfigView;

/**
 * How Sidegate keeps connections to one upstream: the {@code connections} and {@code tls} keys of an entry of
 * {@code upstreams}.
 *
 * @param maxIdle     idle keep-alive connections kept for reuse (more are closed once their exchange ends)
 * @param idleTimeout an idle connection is closed after this; shorter than the common 5 s keep-alive timeout of
 *                    Node.js and Uvicorn, so that Sidegate, not the upstream, closes idle connections
 * @param caFile      PEM certificates an https upstream is verified against instead of the JVM's trust store
 */
public record ConnectionSettings(int maxIdle, Duration idleTimeout, Optional<Path> caFile) {
    public static final ConnectionSettings DEFAULT = new ConnectionSettings(256, Duration.ofSeconds(4), Optional.empty());

    /** Parses {@code connections} and {@code tls} of one upstream entry. */
    public static ConnectionSettings parse(ConfigView upstream, boolean https) {
        ConfigView c = upstream.get("connections");
        int maxIdle = (int) c.integer("max_idle", 0, 100_000).orElse((long) DEFAULT.maxIdle()).longValue();
        Duration idle = c.positiveDuration("idle_timeout").orElse(DEFAULT.idleTimeout());
        ConfigView tls = upstream.get("tls");
        Optional<Path> ca = tls.string("ca_file").map(Path::of);
        if (ca.isPresent()) {
            ConfigView key = tls.get("ca_file");
            if (!https) {
                throw key.invalid("applies to https:// upstreams only");
            }
            if (!Files.isReadable(ca.get()) || Files.isDirectory(ca.get())) {
                throw key.invalid("cannot read '" + ca.get() + "'");
            }
            TlsTrust.context(key.key(), ca); // a file that holds no usable certificate fails the load here
        }
        return new ConnectionSettings(maxIdle, idle, ca);
    }
}
