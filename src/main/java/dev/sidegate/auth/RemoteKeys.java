package dev.sidegate.auth;

import java.net.MalformedURLException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import dev.sidegate.config.ConfigException;
import dev.sidegate.config.Messages;

/**
 * A JWKS endpoint's keys through Nimbus' JWKSourceBuilder (cache, refresh ahead, refetch on unknown kid, rate limit,
 * outage tolerance), fetched once at creation; until a fetch succeeds, a background thread keeps trying. Shared by
 * successive pipelines while the JWKS settings stay the same, so a reload keeps the cache.
 */
final class RemoteKeys implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(RemoteKeys.class.getName());

    private final AuthSettings.Jwks settings;
    private final JWKSource<SecurityContext> source;
    private final AtomicBoolean loaded = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile String detail = "not fetched yet";

    RemoteKeys(AuthSettings.Jwks settings) {
        this.settings = settings;
        this.source = build(settings);
        if (!tryFetch()) {
            LOG.log(System.Logger.Level.WARNING, "JWKS " + settings.url() + " not available yet (" + detail
                    + "); readiness stays false until it is");
            Thread.ofVirtual().name("sidegate-jwks-fetch").start(this::fetchUntilLoaded);
        }
    }

    JWKSource<SecurityContext> source() {
        return source;
    }

    boolean loaded() {
        return loaded.get();
    }

    String detail() {
        return detail;
    }

    private static JWKSource<SecurityContext> build(AuthSettings.Jwks jwks) {
        long ttl = jwks.cacheTtl().toMillis();
        java.net.URL url;
        try {
            url = jwks.url().toURL();
        } catch (MalformedURLException | IllegalArgumentException e) {
            throw new ConfigException("auth.jwks_url", "malformed URL " + jwks.url() + ": " + Messages.oneLine(e));
        }
        // Nimbus requires refresh-ahead time + refresh timeout <= time-to-live; short TTLs get proportionate values.
        return JWKSourceBuilder.<SecurityContext>create(url, new DefaultResourceRetriever(2000, 2000, 512 * 1024))
                .cache(ttl, Math.min(15_000, ttl / 4))
                .refreshAheadCache(Math.min(30_000, ttl / 5), false)
                .rateLimited(jwks.refreshMinInterval().toMillis())
                .outageTolerant(true)
                .retrying(true)
                .build();
    }

    private void fetchUntilLoaded() {
        long delay = 500;
        while (!closed.get() && !loaded.get()) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(delay));
            if (tryFetch()) {
                LOG.log(System.Logger.Level.INFO, "JWKS " + settings.url() + " loaded");
                return;
            }
            delay = Math.min(delay * 2, 15_000);
        }
    }

    private boolean tryFetch() {
        try {
            int count = source.get(new JWKSelector(new JWKMatcher.Builder().build()), null).size();
            loaded.set(true);
            detail = count == 0 ? "loaded, but the key set is empty" : "loaded";
            return true;
        } catch (KeySourceException e) {
            detail = "unavailable: " + Messages.oneLine(e);
            return false;
        }
    }

    @Override
    public void close() {
        closed.set(true);
    }
}
