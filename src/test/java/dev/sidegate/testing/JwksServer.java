package dev.sidegate.testing;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import com.nimbusds.jose.jwk.JWKSet;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;

/** A real JWKS endpoint over HTTP whose key set tests can rotate, take down and count requests to. */
public final class JwksServer implements AutoCloseable {
    private final WebServer server;
    private final AtomicReference<JWKSet> keys;
    private final AtomicBoolean down = new AtomicBoolean();
    private final AtomicInteger hits = new AtomicInteger();

    public JwksServer(JWKSet initial) {
        this.keys = new AtomicReference<>(initial);
        this.server = WebServer.builder()
                .host("127.0.0.1")
                .port(0)
                .shutdownHook(false)
                .featuresDiscoverServices(false)
                .routing(r -> r.get("/.well-known/jwks.json", (req, res) -> {
                    hits.incrementAndGet();
                    if (down.get()) {
                        res.status(Status.SERVICE_UNAVAILABLE_503).send();
                        return;
                    }
                    res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "application/json"));
                    res.send(keys.get().toPublicJWKSet().toString().getBytes(StandardCharsets.UTF_8));
                }))
                .build()
                .start();
    }

    public String url() {
        return "http://127.0.0.1:" + server.port() + "/.well-known/jwks.json";
    }

    public void keys(JWKSet set) {
        keys.set(set);
    }

    public void down(boolean isDown) {
        down.set(isDown);
    }

    public int hits() {
        return hits.get();
    }

    @Override
    public void close() {
        server.stop();
    }
}
