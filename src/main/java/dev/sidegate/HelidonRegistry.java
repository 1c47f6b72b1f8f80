package dev.sidegate;

import io.helidon.service.registry.GlobalServiceRegistry;
import io.helidon.service.registry.ServiceRegistryConfig;
import io.helidon.service.registry.ServiceRegistryManager;

/**
 * Helidon's global service registry, created empty. Sidegate names every Helidon part it uses on its builders
 * (protocols, features, observers, encodings: discovery is off on each), so the registry has nothing to find; left to
 * itself, Helidon builds it at the first builder by reading the service metadata of every jar on the class path and
 * describing every service in it, about a fifth of the start-up's main-thread CPU (loadtest/ANALYSIS.md).
 */
final class HelidonRegistry {
    private HelidonRegistry() {
    }

    /** Installs the empty registry unless the process already has one (a host application's, or an earlier call's). */
    static void useExplicitWiring() {
        if (!GlobalServiceRegistry.configured()) {
            GlobalServiceRegistry.registry(ServiceRegistryManager.create(ServiceRegistryConfig.builder()
                                                                                 .discoverServices(false)
                                                                                 .discoverServicesFromServiceLoader(false)
                                                                                 .build())
                                                   .registry());
        }
    }
}
