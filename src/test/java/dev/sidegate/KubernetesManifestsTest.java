package dev.sidegate;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import dev.sidegate.config.Durations;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.yaml.snakeyaml.Yaml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The manifests under k8s/ as Kubernetes would see them: parsed into typed models (fabric8), the sidecar component
 * merged into the example Deployment the way kustomize's strategic merge does for these fields, and checked for
 * the mistakes that break sidecars. No kubectl or cluster is needed.
 */
class KubernetesManifestsTest {
    private static final KubernetesSerialization K8S = new KubernetesSerialization();
    private static final Path K8S_DIR = Path.of("k8s");

    private static List<HasMetadata> read(Path file) {
        List<HasMetadata> objects = new ArrayList<>();
        try {
            for (String doc : Files.readString(file).split("(?m)^---\\s*$")) {
                if (!doc.strip().isEmpty() && doc.contains("kind:")) {
                    objects.add(K8S.unmarshal(doc, HasMetadata.class));
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return objects;
    }

    private static <T extends HasMetadata> T one(Path file, Class<T> type) {
        return read(file).stream().filter(type::isInstance).map(type::cast).findFirst()
                .orElseThrow(() -> new AssertionError("no " + type.getSimpleName() + " in " + file));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> kustomization(Path dir) throws IOException {
        return new Yaml().load(Files.readString(dir.resolve("kustomization.yaml")));
    }

    /** The example Deployment with a sidecar component applied (the fields its patch sets). */
    private static Deployment render(String component) throws IOException {
        Deployment app = one(K8S_DIR.resolve("app/deployment.yaml"), Deployment.class);
        Path dir = K8S_DIR.resolve("components").resolve(component);
        Map<String, Object> k = kustomization(dir);
        @SuppressWarnings("unchecked")
        Map<String, Object> patchRef = ((List<Map<String, Object>>) k.get("patches")).get(0);
        @SuppressWarnings("unchecked")
        Map<String, Object> target = (Map<String, Object>) patchRef.get("target");
        assertEquals("Deployment", target.get("kind"));
        String[] selector = target.get("labelSelector").toString().split("=");
        assertEquals(selector[1], app.getMetadata().getLabels().get(selector[0]), "the component selects the example app");

        Deployment patch = one(dir.resolve(patchRef.get("path").toString()), Deployment.class);
        PodSpec into = app.getSpec().getTemplate().getSpec();
        PodSpec from = patch.getSpec().getTemplate().getSpec();
        into.setTerminationGracePeriodSeconds(from.getTerminationGracePeriodSeconds());
        into.setEnableServiceLinks(from.getEnableServiceLinks());
        into.getInitContainers().addAll(from.getInitContainers());
        into.getContainers().addAll(from.getContainers());
        into.getVolumes().addAll(from.getVolumes());
        return app;
    }

    private static Container sidegate(PodSpec pod) {
        return Stream.concat(pod.getInitContainers().stream(), pod.getContainers().stream())
                .filter(c -> c.getName().equals("sidegate")).findFirst().orElseThrow();
    }

    private static Map<String, EnvVar> env(Container c) {
        Map<String, EnvVar> env = new LinkedHashMap<>();
        c.getEnv().forEach(e -> env.put(e.getName(), e));
        return env;
    }

    private static int port(Container c, String name) {
        return c.getPorts().stream().filter(p -> name.equals(p.getName())).map(ContainerPort::getContainerPort)
                .findFirst().orElseThrow(() -> new AssertionError("no port named " + name));
    }

    /** Environment variables Sidegate reads: the SIDEGATE_* names in its sources. */
    static Set<String> variablesSidegateReads() throws IOException {
        Set<String> names = new TreeSet<>();
        Pattern literal = Pattern.compile("\"(SIDEGATE_[A-Z_]+)\"");
        try (Stream<Path> files = Files.walk(Path.of("src/main/java"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                Matcher m = literal.matcher(Files.readString(f));
                while (m.find()) {
                    names.add(m.group(1));
                }
            }
        }
        return names;
    }

    @ParameterizedTest
    @ValueSource(strings = {"sidegate-sidecar", "sidegate-sidecar-classic"})
    void theSidecarIsWiredToTheAppAsSidegateExpects(String component) throws IOException {
        Deployment deployment = render(component);
        PodSpec pod = deployment.getSpec().getTemplate().getSpec();
        Container sidegate = sidegate(pod);
        Map<String, EnvVar> env = env(sidegate);

        if (component.equals("sidegate-sidecar")) {
            assertTrue(pod.getInitContainers().contains(sidegate), "a native sidecar is an init container");
            assertEquals("Always", sidegate.getRestartPolicy(), "a native sidecar has restartPolicy Always");
            assertTrue(pod.getContainers().stream().noneMatch(c -> c.getName().equals("sidegate")));
        } else {
            assertTrue(pod.getContainers().contains(sidegate));
            assertNull(sidegate.getRestartPolicy(), "a plain container may not set restartPolicy");
            assertTrue(pod.getInitContainers().isEmpty());
        }

        // Ports: what Sidegate listens on is what the container declares and the probes use.
        assertEquals(Integer.parseInt(env.get("SIDEGATE_PORT").getValue()), port(sidegate, "sidegate"));
        assertEquals(Integer.parseInt(env.get("SIDEGATE_ADMIN_PORT").getValue()), port(sidegate, "sidegate-admin"));
        for (Probe probe : List.of(sidegate.getStartupProbe(), sidegate.getLivenessProbe(), sidegate.getReadinessProbe())) {
            assertEquals("sidegate-admin", probe.getHttpGet().getPort().getStrVal(), "probes go to the admin port");
        }
        assertEquals("/observe/health/ready", sidegate.getReadinessProbe().getHttpGet().getPath());
        assertEquals("/observe/health/live", sidegate.getLivenessProbe().getHttpGet().getPath());
        assertEquals("/observe/health/live", sidegate.getStartupProbe().getHttpGet().getPath());

        // The app is reachable only through Sidegate: it declares no port and Sidegate's upstream is loopback.
        Container app = pod.getContainers().stream().filter(c -> !c.getName().equals("sidegate")).findFirst().orElseThrow();
        assertTrue(app.getPorts() == null || app.getPorts().isEmpty(), "the app's port is not exposed");
        java.net.URI upstream = java.net.URI.create(env.get("SIDEGATE_UPSTREAM").getValue());
        assertEquals("127.0.0.1", upstream.getHost());
        assertTrue(String.join(" ", app.getArgs()).contains("127.0.0.1:" + upstream.getPort()), "the app listens where Sidegate sends");
        Service service = one(K8S_DIR.resolve("app/service.yaml"), Service.class);
        assertEquals(deployment.getSpec().getSelector().getMatchLabels(), service.getSpec().getSelector());
        for (var p : service.getSpec().getPorts()) {
            assertEquals("sidegate", p.getTargetPort().getStrVal(), "the Service targets Sidegate, not the app");
        }

        // Configuration: SIDEGATE_CONFIG is a file in the mounted ConfigMap generated from sidecar-config/.
        Path configPath = Path.of(env.get("SIDEGATE_CONFIG").getValue());
        VolumeMount mount = sidegate.getVolumeMounts().stream()
                .filter(m -> configPath.startsWith(m.getMountPath())).findFirst().orElseThrow();
        assertTrue(mount.getReadOnly());
        Volume volume = pod.getVolumes().stream().filter(v -> v.getName().equals(mount.getName())).findFirst().orElseThrow();
        String configMap = volume.getConfigMap().getName();
        Map<String, Object> generator = kustomization(Path.of("sidecar-config"));
        @SuppressWarnings("unchecked")
        Map<String, Object> generated = ((List<Map<String, Object>>) generator.get("configMapGenerator")).get(0);
        assertEquals(configMap, generated.get("name"));
        assertEquals(List.of(configPath.getFileName().toString()), generated.get("files"));
        assertTrue(Files.exists(Path.of("sidecar-config").resolve(configPath.getFileName())));
        @SuppressWarnings("unchecked")
        Map<String, Object> options = (Map<String, Object>) generator.get("generatorOptions");
        assertEquals(Boolean.TRUE, options.get("disableNameSuffixHash"), "a stable name lets the kubelet update the file for hot reload");

        // Every variable set is one Sidegate reads (or the OpenTelemetry SDK's, or the JVM sizing's below), and every
        // one it reads is documented.
        Set<String> reads = variablesSidegateReads();
        for (String name : env.keySet()) {
            assertTrue(reads.contains(name) || name.startsWith("OTEL_") || Set.of("CPU_REQUEST", "JDK_JAVA_OPTIONS").contains(name),
                       name + " is set but Sidegate does not read it");
        }
        // The JVM is sized to the container's CPU request, not the node's CPUs.
        var cpu = env.get("CPU_REQUEST").getValueFrom().getResourceFieldRef();
        assertEquals("sidegate", cpu.getContainerName());
        assertEquals("requests.cpu", cpu.getResource());
        assertEquals("1", cpu.getDivisor().toString());
        assertEquals("-XX:ActiveProcessorCount=$(CPU_REQUEST)", env.get("JDK_JAVA_OPTIONS").getValue());
        assertTrue(List.copyOf(env.keySet()).indexOf("CPU_REQUEST") < List.copyOf(env.keySet()).indexOf("JDK_JAVA_OPTIONS"),
                   "Kubernetes expands $(CPU_REQUEST) only from a variable defined before it");
        assertTrue(sidegate.getResources().getRequests().containsKey("cpu"), "the request the JVM is sized to");
        assertTrue(env.containsKey("OTEL_EXPORTER_OTLP_ENDPOINT"));
        EnvVar redis = env.get("SIDEGATE_REDIS_URL");
        assertEquals("sidegate-redis", redis.getValueFrom().getSecretKeyRef().getName());
        assertTrue(redis.getValueFrom().getSecretKeyRef().getOptional());

        // Hardening: non-root, read-only root filesystem with a writable /tmp, no capabilities.
        for (Container c : List.of(sidegate, app)) {
            assertEquals(Boolean.TRUE, c.getSecurityContext().getReadOnlyRootFilesystem(), c.getName());
            assertEquals(Boolean.FALSE, c.getSecurityContext().getAllowPrivilegeEscalation(), c.getName());
            assertEquals(List.of("ALL"), c.getSecurityContext().getCapabilities().getDrop(), c.getName());
            assertNotNull(c.getResources().getRequests().get("memory"), c.getName());
            assertNotNull(c.getResources().getLimits().get("memory"), c.getName());
        }
        assertTrue(Boolean.TRUE.equals(pod.getSecurityContext().getRunAsNonRoot())
                           || Boolean.TRUE.equals(sidegate.getSecurityContext().getRunAsNonRoot()));
        assertTrue(sidegate.getVolumeMounts().stream().anyMatch(m -> m.getMountPath().equals("/tmp")));
        assertNotNull(sidegate.getResources().getRequests().get("cpu"));

        // Rolling updates: the grace period covers the app's preStop sleep and Sidegate's drain.
        Duration drain = Durations.parse("SIDEGATE_DRAIN_TIMEOUT", env.get("SIDEGATE_DRAIN_TIMEOUT").getValue());
        long preStop = app.getLifecycle().getPreStop().getSleep().getSeconds();
        assertTrue(pod.getTerminationGracePeriodSeconds() > drain.toSeconds() + preStop,
                   "terminationGracePeriodSeconds must exceed preStop + drain");
        assertEquals(Boolean.FALSE, pod.getEnableServiceLinks(), "service links would inject SIDEGATE_PORT=tcp://...");
        assertEquals(0, deployment.getSpec().getStrategy().getRollingUpdate().getMaxUnavailable().getIntVal());
    }

    @Test
    void theNativeAndClassicSidecarsAreTheSameContainer() throws IOException {
        Container nativeSidecar = sidegate(render("sidegate-sidecar").getSpec().getTemplate().getSpec());
        Container classic = sidegate(render("sidegate-sidecar-classic").getSpec().getTemplate().getSpec());
        nativeSidecar.setRestartPolicy(null);
        assertEquals(nativeSidecar, classic, "the two components must not drift apart");
    }

    @Test
    void everyVariableSidegateReadsIsDocumented() throws IOException {
        String readme = Files.readString(Path.of("README.md"));
        for (String name : variablesSidegateReads()) {
            assertTrue(readme.contains("| `" + name + "` |"), name + " is read but not in README's table");
        }
    }

    @Test
    void theProbePathsAnswerOnTheRealAdminPort() {
        Container sidegate = sidegate(renderQuietly().getSpec().getTemplate().getSpec());
        try (TestUpstream upstream = TestUpstream.start();
             SidegateFixture running = SidegateFixture.start(null, Map.of("SIDEGATE_UPSTREAM", upstream.url()))) {
            for (Probe probe : List.of(sidegate.getStartupProbe(), sidegate.getLivenessProbe(), sidegate.getReadinessProbe())) {
                assertEquals(200, running.admin(probe.getHttpGet().getPath()).statusCode(), probe.getHttpGet().getPath());
            }
        }
    }

    private static Deployment renderQuietly() {
        try {
            return render("sidegate-sidecar");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void everyManifestParsesAndEveryKustomizationReferenceExists() throws IOException {
        List<Path> kustomizations = new ArrayList<>();
        try (Stream<Path> files = Stream.concat(Files.walk(K8S_DIR), Stream.of(Path.of("sidecar-config/kustomization.yaml")))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).toList()) {
                if (f.getFileName().toString().equals("kustomization.yaml")) {
                    kustomizations.add(f.getParent());
                } else {
                    assertFalse(read(f).isEmpty(), f + " holds no Kubernetes object");
                }
            }
        }
        assertTrue(kustomizations.size() >= 7, kustomizations.toString());
        for (Path dir : kustomizations) {
            Map<String, Object> k = kustomization(dir);
            List<String> refs = new ArrayList<>();
            for (String key : List.of("resources", "components")) {
                @SuppressWarnings("unchecked")
                List<String> list = (List<String>) k.getOrDefault(key, List.of());
                refs.addAll(list);
            }
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> patches = (List<Map<String, Object>>) k.getOrDefault("patches", List.of());
            patches.stream().filter(p -> p.containsKey("path")).forEach(p -> refs.add(p.get("path").toString()));
            for (String ref : refs) {
                Path target = dir.resolve(ref).normalize();
                assertTrue(Files.exists(target), dir + " refers to missing " + ref);
                if (Files.isRegularFile(target)) {
                    assertTrue(target.startsWith(dir), dir + ": kustomize refuses files outside the kustomization: " + ref);
                }
            }
        }
    }

    @Test
    void theDemoOverlaysRedisSecretPointsAtItsRedis() throws IOException {
        Path demo = K8S_DIR.resolve("overlays/demo");
        Map<String, Object> k = kustomization(demo);
        @SuppressWarnings("unchecked")
        Map<String, Object> secret = ((List<Map<String, Object>>) k.get("secretGenerator")).get(0);
        assertEquals("sidegate-redis", secret.get("name"));
        @SuppressWarnings("unchecked")
        String url = ((List<String>) secret.get("literals")).get(0).replaceFirst("^url=", "");
        Service redis = one(demo.resolve("redis.yaml"), Service.class);
        assertEquals("redis://" + redis.getMetadata().getName() + "." + k.get("namespace") + ".svc:"
                             + redis.getSpec().getPorts().get(0).getPort(), url);
    }

    @Test
    void theInjectExampleIsSelectedByTheComponentAndItsServiceTargetsSidegate() throws IOException {
        Path dir = K8S_DIR.resolve("overlays/inject-existing");
        Deployment payments = one(dir.resolve("payments.yaml"), Deployment.class);
        assertEquals("true", payments.getMetadata().getLabels().get("sidegate.dev/inject"));
        Service service = one(dir.resolve("payments.yaml"), Service.class);
        assertEquals("sidegate", service.getSpec().getPorts().get(0).getTargetPort().getStrVal());
        Map<String, String> labels = new HashMap<>(payments.getSpec().getTemplate().getMetadata().getLabels());
        assertTrue(labels.entrySet().containsAll(service.getSpec().getSelector().entrySet()));
        assertTrue(payments.getSpec().getTemplate().getSpec().getContainers().stream()
                           .allMatch(c -> c.getPorts() == null || c.getPorts().isEmpty()));
        assertEquals(Optional.of("../../components/sidegate-sidecar"),
                     ((List<?>) kustomization(dir).get("components")).stream().map(Object::toString).findFirst());
    }
}
