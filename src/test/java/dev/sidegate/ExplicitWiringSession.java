package dev.sidegate;

import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Gives the test JVM the registry a Sidegate process has, before any test runs: the registry is global and the first
 * Helidon builder fixes it, so without this a test stub built on Helidon before the first Sidegate would decide which
 * registry every later test's Sidegate gets.
 */
public final class ExplicitWiringSession implements LauncherSessionListener {
    @Override
    public void launcherSessionOpened(LauncherSession session) {
        HelidonRegistry.useExplicitWiring();
    }
}
