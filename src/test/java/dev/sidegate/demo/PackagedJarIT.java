package dev.sidegate.demo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.sidegate.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shaded {@code target/sidegate.jar} as shipped, in its own JVM: the unit tests run from class folders, so only
 * this sees what shading could break (merged service files, Helidon's manifest, the demo config inside the jar).
 * Runs in {@code verify}, after {@code package}.
 */
class PackagedJarIT {
    private static final Path JAR = Path.of(System.getProperty("sidegate.jar", "target/sidegate.jar")).toAbsolutePath();

    @Test
    void demoModeFromTheJarServesEveryPrintedCommandAndStopsCleanlyOnSigterm(@TempDir Path elsewhere) throws Exception {
        // Started outside the checkout, demo mode takes the demo config built into the jar.
        Run demo = Run.start(elsewhere, Map.of("SIDEGATE_PORT", "0", "SIDEGATE_ADMIN_PORT", "0"), "--demo");
        try {
            Await.until(() -> demo.stdout().contains("Stop with Ctrl-C") || !demo.process.isAlive(),
                        "demo mode prints its instructions", Duration.ofSeconds(60));
            String text = demo.stdout();
            assertTrue(text.contains("Stop with Ctrl-C"), "demo mode printed its instructions\n" + text + demo.stderr());
            assertTrue(text.contains("sidegate-demo") && !text.contains(Demo.CHECKOUT_CONFIG),
                       "the copy inside the jar, not a checkout's file\n" + text);
            PrintedCommands.assertEveryCommandWorks(text);
        } finally {
            demo.process.destroy(); // SIGTERM
        }
        assertEquals(0, demo.exitCode(), "a drained stop exits 0\n" + demo.stderr());
        assertTrue(demo.stderr().contains("sidegate started"), demo.stderr());
        assertTrue(demo.stderr().contains("INFO dev.sidegate.Sidegate: stopped"), demo.stderr());
    }

    @Test
    void validateFromTheJarAcceptsTheSampleConfigAndNamesTheKeyOfABadOne(@TempDir Path dir) throws Exception {
        Run good = Run.start(dir, Map.of(), "validate", Path.of("sidecar-config/sidegate.yaml").toAbsolutePath().toString());
        assertEquals(0, good.exitCode(), good.stderr());
        assertTrue(good.stdout().contains("route"), good.stdout());

        Path bad = Files.writeString(dir.resolve("bad.yaml"), "server:\n  body_timeout: soon\n");
        Run refused = Run.start(dir, Map.of(), "validate", bad.toString());
        assertEquals(2, refused.exitCode(), refused.stdout());
        assertTrue(refused.stderr().startsWith("sidegate: configuration error: server.body_timeout"), refused.stderr());
    }

    /** The jar run in a JVM of its own; its output goes to files, read whenever the test looks. */
    private record Run(Process process, Path out, Path err) {
        static Run start(Path workingDirectory, Map<String, String> env, String... arguments) throws IOException {
            assertTrue(Files.isRegularFile(JAR), JAR + " is built by package, before the integration tests");
            String java = ProcessHandle.current().info().command()
                    .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            List<String> command = new ArrayList<>(List.of(java, "-XX:+UseSerialGC", "-Xmx96m", "-Xss512k", "-jar", JAR.toString()));
            command.addAll(List.of(arguments));
            Path out = workingDirectory.resolve("stdout-" + System.nanoTime());
            Path err = workingDirectory.resolve("stderr-" + System.nanoTime());
            ProcessBuilder builder = new ProcessBuilder(command).directory(workingDirectory.toFile())
                    .redirectOutput(out.toFile()).redirectError(err.toFile());
            builder.environment().keySet().removeIf(name -> name.startsWith("SIDEGATE_") || name.startsWith("OTEL_"));
            builder.environment().putAll(env);
            return new Run(builder.start(), out, err);
        }

        int exitCode() throws InterruptedException {
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("still running after 60 s\n" + stderr());
            }
            return process.exitValue();
        }

        String stdout() {
            return read(out);
        }

        String stderr() {
            return read(err);
        }

        private static String read(Path file) {
            try {
                return Files.readString(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
