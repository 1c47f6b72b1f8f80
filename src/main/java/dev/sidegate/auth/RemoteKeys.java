package dev.sidegate.auth;

import java.net.MalformedURLException;
import java.net.URL;
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
import dev.sidegate.proxy.Resources;

/**
 * A JWKS endpoint's keys through Nimbus' JWKSourceBuilder (cache, refresh ahead, refetch on unknown kid, rate limit,
 * outage tolerance). Shared by successive pipelines while the JWKS settings stay the same, so a reload keeps the
 * cache.
 *
 * <p>Until the first fetch succeeds, nothing goes through the rate-limited source: requests are answered at once
 * (keys unavailable), and a background loop polls the endpoint directly, about once a second, so the sidecar is
 * ready within about a second of the identity provider answering. Nimbus' limit (two fetches per
 * {@code refresh_min_interval}) is for unknown-kid floods once keys are loaded, not for start-up.
 */
final class RemoteKeys implements Resources.Part {
    private static final System.Logger LOG = System.getLogger(RemoteKeys.class.getName());
    private static final long MAX_BOOTSTRAP_DELAY_MILLIS = 1000;

    private final AuthSettings.Jwks settings;
    private final JWKSource<SecurityContext> source;
    private final JWKSource<SecurityContext> bootstrap;
    private final AtomicBoolean loaded = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile String detail = "not fetched yet";

    RemoteKeys(AuthSettings.Jwks settings) {
        this.settings = settings;
        URL url = url(settings);
        DefaultResourceRetriever retriever = new DefaultResourceRetriever(2000, 2000, 512 * 1024);
        long ttl = settings.cacheTtl().toMillis();
        // Nimbus requires refresh-ahead time + refresh timeout <= time-to-live; short TTLs get proportionate values.
        this.source = JWKSourceBuilder.<SecurityContext>create(url, retriever)
                .cache(ttl, Math.min(15_000, ttl / 4))
                .refreshAheadCache(Math.min(30_000, ttl / 5), false)
                .rateLimited(settings.refreshMinInterval().toMillis())
                .outageTolerant(true)
                .retrying(true)
                .build();
        this.bootstrap = JWKSourceBuilder.<SecurityContext>create(url, retriever)
                .cache(false)
                .rateLimited(false)
                .retrying(false)
                .outageTolerant(false)
                .refreshAheadCache(false)
                .build();
    }

    private static URL url(AuthSettings.Jwks jwks) {
        try {
            return jwks.url().toURL();
        } catch (MalformedURLException | IllegalArgumentException e) {
            throw new ConfigException("auth.jwks_url", "malformed URL " + jwks.url() + ": " + Messages.oneLine(e));
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

    /** Fetches the keys now; until that works, keeps trying in the background. */
    @Override
    public void start() {
        if (!fetch(bootstrap) || !fetch(source)) {
            LOG.log(System.Logger.Level.WARNING, "JWKS " + settings.url() + " not available yet (" + detail
                    + "); readiness stays false until it is");
            Thread.ofVirtual().name("sidegate-jwks-fetch").start(this::fetchUntilLoaded);
        }
    }

    private void fetchUntilLoaded() {
        long delay = 100;
        while (!closed.get() && !loaded.get()) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(delay));
            // The endpoint answering the unthrottled probe is what the rate-limited source is asked for at once.
            if (fetch(bootstrap) && fetch(source)) {
                LOG.log(System.Logger.Level.INFO, "JWKS " + settings.url() + " loaded");
                return;
            }
            delay = Math.min(delay * 2, MAX_BOOTSTRAP_DELAY_MILLIS);
        }
    }

    /** One fetch through the given source; the main source's success marks the keys loaded. */
    private boolean fetch(JWKSource<SecurityContext> from) {
        try {
            int count = from.get(new JWKSelector(new JWKMatcher.Builder().build()), null).size();
            if (from == source) {
                loaded.set(true);
                detail = count == 0 ? "loaded, but the key set is empty" : "loaded";
            }
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
