package dev.sidegate.testing;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code redis-server} executable for the fixtures: the one installed on PATH (what {@code .ci/run} installs), or
 * else the Redis 6.2 linux-amd64 binary that {@code com.github.codemonstur:embedded-redis} ships inside its jar,
 * copied out once per JVM. The shipped one speaks TLS and runs as Sentinel ({@code --sentinel}) and as a cluster
 * node, so a machine with neither redis-server nor Docker still runs every Redis test.
 */
public record RedisBinary(Path path, int majorVersion, boolean fromJar) {
    private static final String SHIPPED_RESOURCE = "/redis-server-6.2.6-v5-linux-amd64";
    private static final Pattern VERSION = Pattern.compile("v=(\\d+)\\.");
    private static RedisBinary shippedCopy;

    /** The installed redis-server, or null when none is on PATH. */
    public static RedisBinary installed() {
        for (String dir : (System.getenv().getOrDefault("PATH", "") + File.pathSeparator + "/usr/bin:/usr/local/bin:/usr/sbin")
                .split(File.pathSeparator)) {
            File f = new File(dir, "redis-server");
            if (!dir.isEmpty() && f.canExecute()) {
                return of(f.toPath(), false);
            }
        }
        return null;
    }

    /** The installed redis-server if there is one, otherwise the shipped binary. */
    public static RedisBinary installedOrShipped() {
        RedisBinary installed = installed();
        return installed != null ? installed : shipped();
    }

    /** The binary from the embedded-redis jar, whatever is installed. */
    public static synchronized RedisBinary shipped() {
        if (shippedCopy != null) {
            return shippedCopy;
        }
        String os = System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT);
        String arch = System.getProperty("os.arch");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new AssertionError("these tests need a real Redis: install redis-server (apt-get install -y redis-server, as "
                    + ".ci/run does); the binary shipped for tests is for linux-amd64 only, this is " + os + "-" + arch);
        }
        try (InputStream in = RedisBinary.class.getResourceAsStream(SHIPPED_RESOURCE)) {
            if (in == null) {
                throw new AssertionError("the embedded-redis jar (test dependency) is not on the class path");
            }
            Path dir = Files.createTempDirectory("sidegate-redis-bin");
            Path binary = dir.resolve("redis-server");
            Files.copy(in, binary, StandardCopyOption.REPLACE_EXISTING);
            if (!binary.toFile().setExecutable(true, true)) {
                throw new AssertionError("cannot make " + binary + " executable");
            }
            binary.toFile().deleteOnExit();
            dir.toFile().deleteOnExit();
            shippedCopy = of(binary, true);
            return shippedCopy;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code --enable-debug-command} exists from Redis 7 on (where DEBUG is off by default); 6.2 allows DEBUG as is. */
    public boolean needsDebugCommandFlag() {
        return majorVersion >= 7;
    }

    private static RedisBinary of(Path path, boolean fromJar) {
        try {
            Process version = new ProcessBuilder(path.toString(), "--version").redirectErrorStream(true).start();
            String out = new String(version.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!version.waitFor(20, TimeUnit.SECONDS) || version.exitValue() != 0) {
                throw new AssertionError(path + " --version failed: " + out.strip());
            }
            Matcher m = VERSION.matcher(out);
            if (!m.find()) {
                throw new AssertionError(path + " --version printed no version: " + out.strip());
            }
            return new RedisBinary(path, Integer.parseInt(m.group(1)), fromJar);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
