package dev.sidegate;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import dev.sidegate.config.ConfigException;
import dev.sidegate.config.Messages;
import dev.sidegate.demo.Demo;
import io.helidon.logging.common.LogConfig;
import sun.misc.Signal;

/**
 * Command-line entry point. {@code sidegate} runs from the environment; {@code sidegate --demo} runs the demo.
 * Exit codes: 0 after a graceful stop (SIGTERM or SIGINT), 2 for a configuration error, 1 when it cannot start.
 * SIGHUP reloads the configuration file.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        LogConfig.configureRuntime();
        HelidonRegistry.useExplicitWiring(); // before demo mode builds its servers
        // Netty (under Lettuce) samples buffers for leak reports by capturing stack traces: a debugging aid that
        // costs CPU per Redis call. Off unless asked for with -Dio.netty.leakDetection.level=...
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            System.setProperty("io.netty.leakDetection.level", "disabled");
        }
        List<String> arguments = List.of(args);
        if (!arguments.isEmpty() && arguments.get(0).equals("validate") && arguments.size() <= 2) {
            System.exit(Validate.run(System.getenv(), arguments.size() == 2 ? arguments.get(1) : null, System.out, System.err));
            return;
        }
        boolean demo = arguments.contains("--demo");
        if (arguments.stream().anyMatch(a -> !a.equals("--demo"))) {
            System.err.println("usage: sidegate [--demo] | sidegate validate [FILE]   (configuration comes from SIDEGATE_* "
                    + "environment variables and the file SIDEGATE_CONFIG names)");
            System.exit(2);
        }

        Map<String, String> env = System.getenv();
        Demo demoMode = null;
        if (demo) {
            demoMode = Demo.start(env);
            env = demoMode.environment();
        }

        // SIGHUP is handled from before the server starts: the JVM's default handler exits, and an operator (or a
        // test) that sends it right after the startup line must get a reload. One that arrives while Sidegate is
        // starting is applied once it has started (the file may have changed after it was read).
        AtomicReference<Sidegate> running = new AtomicReference<>();
        AtomicBoolean reloadPending = new AtomicBoolean();
        Signal.handle(new Signal("HUP"), s -> {
            reloadPending.set(true);
            reloadIfPending(running.get(), reloadPending);
        });
        Sidegate sidegate;
        try {
            sidegate = Sidegate.start(env);
            running.set(sidegate);
            reloadIfPending(sidegate, reloadPending);
        } catch (ConfigException e) {
            System.err.println("sidegate: configuration error: " + e.getMessage());
            System.exit(2);
            return;
        } catch (RuntimeException e) {
            System.err.println("sidegate: cannot start: " + Messages.oneLine(e));
            System.exit(1);
            return;
        }

        CountDownLatch stopped = new CountDownLatch(1);
        Demo finalDemo = demoMode;
        Runnable stop = () -> {
            sidegate.shutdown();
            if (finalDemo != null) {
                finalDemo.close();
            }
            stopped.countDown();
        };
        for (String signal : List.of("TERM", "INT")) {
            // A handler (not a shutdown hook) so that a drained stop exits 0 instead of 143.
            Signal.handle(new Signal(signal), s -> Thread.ofPlatform().name("sidegate-shutdown").start(stop));
        }
        if (demoMode != null) {
            demoMode.printInstructions(sidegate.port(), sidegate.adminPort());
        }
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        System.exit(0);
    }

    /** Reloads on a virtual thread (a signal handler must not block) if a SIGHUP is pending and Sidegate runs. */
    private static void reloadIfPending(Sidegate sidegate, AtomicBoolean pending) {
        if (sidegate != null && pending.getAndSet(false)) {
            Thread.ofVirtual().name("sidegate-sighup").start(() -> sidegate.reload("SIGHUP"));
        }
    }
}
