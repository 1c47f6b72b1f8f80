package dev.sidegate.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import dev.sidegate.Sidegate;

/**
 * A real Sidegate on random ports, configured like production: an environment map and, optionally, a YAML file.
 */
public final class SidegateFixture implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    private final Sidegate sidegate;
    private final Path configFile;

    private SidegateFixture(Sidegate sidegate, Path configFile) {
        this.sidegate = sidegate;
        this.configFile = configFile;
    }

    /** Starts with the given YAML (may be null) and environment (SIDEGATE_PORT and _ADMIN_PORT default to 0). */
    public static SidegateFixture start(String yaml, Map<String, String> env) {
        Map<String, String> effective = new HashMap<>();
        effective.put("SIDEGATE_PORT", "0");
        effective.put("SIDEGATE_ADMIN_PORT", "0");
        effective.put("SIDEGATE_DRAIN_TIMEOUT", "5s");
        Path file = null;
        if (yaml != null) {
            file = writeTemp(yaml);
            effective.put("SIDEGATE_CONFIG", file.toString());
        }
        effective.putAll(env);
        return new SidegateFixture(Sidegate.start(effective), file);
    }

    public static Path writeTemp(String yaml) {
        try {
            Path file = Files.createTempFile("sidegate-test", ".yaml");
            Files.writeString(file, yaml);
            file.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The configuration file (null when started without one). */
    public java.nio.file.Path configFile() {
        return configFile;
    }

    public Sidegate sidegate() {
        return sidegate;
    }

    public int port() {
        return sidegate.port();
    }

    public int adminPort() {
        return sidegate.adminPort();
    }

    public URI uri(String pathAndQuery) {
        return URI.create("http://127.0.0.1:" + port() + pathAndQuery);
    }

    public URI adminUri(String path) {
        return URI.create("http://127.0.0.1:" + adminPort() + path);
    }

    public HttpResponse<String> get(String pathAndQuery) {
        return send(HttpRequest.newBuilder(uri(pathAndQuery)).GET().build());
    }

    public HttpResponse<String> admin(String path) {
        return send(HttpRequest.newBuilder(adminUri(path)).GET().build());
    }

    public static HttpResponse<String> send(HttpRequest request) {
        try {
            return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public static HttpClient http() {
        return HTTP;
    }

    @Override
    public void close() {
        sidegate.shutdown();
        if (configFile != null) {
            try {
                Files.deleteIfExists(configFile);
            } catch (IOException e) {
                // a temp file; deleteOnExit covers it
            }
        }
    }
}
