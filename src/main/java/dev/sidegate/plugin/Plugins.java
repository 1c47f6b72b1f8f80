package dev.sidegate.plugin;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import dev.sidegate.config.ConfigException;
import dev.sidegate.config.Messages;
import dev.sidegate.proxy.ProxyRequest;
import dev.sidegate.proxy.ProxyResponse;
import dev.sidegate.proxy.Stage;

/**
 * The plugins this process can use: every {@link Plugin} in the jars of {@code SIDEGATE_PLUGINS_DIR} (and on
 * Sidegate's own class path), loaded once at startup. New jars need a restart; routes can enable and configure
 * loaded plugins in any reload.
 */
public final class Plugins implements AutoCloseable {
    public static final String ENV_DIR = "SIDEGATE_PLUGINS_DIR";
    private static final System.Logger LOG = System.getLogger(Plugins.class.getName());
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]+");

    private final Map<String, Plugin> byName;
    private final Optional<URLClassLoader> loader;

    private Plugins(Map<String, Plugin> byName, Optional<URLClassLoader> loader) {
        this.byName = byName;
        this.loader = loader;
    }

    /**
     * Loads the plugins of every {@code *.jar} in the directory.
     *
     * @throws ConfigException naming {@code SIDEGATE_PLUGINS_DIR} when the directory or a jar cannot be used, or two
     *                         plugins share a name
     */
    public static Plugins load(Optional<Path> dir) {
        Optional<URLClassLoader> loader = dir.map(Plugins::classLoader);
        ClassLoader classLoader = loader.<ClassLoader>map(l -> l).orElse(Plugins.class.getClassLoader());
        Map<String, Plugin> byName = new TreeMap<>();
        try {
            for (Plugin plugin : ServiceLoader.load(Plugin.class, classLoader)) {
                String name = plugin.name();
                if (name == null || !NAME.matcher(name).matches()) {
                    throw new ConfigException(ENV_DIR, plugin.getClass().getName() + " has an invalid name '" + name
                            + "' (letters, digits, '-', '_' and '.')");
                }
                Plugin other = byName.putIfAbsent(name, plugin);
                if (other != null) {
                    throw new ConfigException(ENV_DIR, "two plugins are named '" + name + "': " + other.getClass().getName()
                            + " and " + plugin.getClass().getName());
                }
            }
        } catch (ServiceConfigurationError | LinkageError e) {
            throw new ConfigException(ENV_DIR, "a plugin could not be loaded: " + Messages.oneLine(e));
        }
        if (!byName.isEmpty()) {
            LOG.log(System.Logger.Level.INFO, "plugins loaded: " + String.join(", ", byName.keySet()));
        }
        return new Plugins(byName, loader);
    }

    private static URLClassLoader classLoader(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new ConfigException(ENV_DIR, "not a directory: " + dir);
        }
        List<URL> jars = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path jar : files.filter(f -> f.getFileName().toString().endsWith(".jar")).sorted().toList()) {
                jars.add(jar.toUri().toURL());
            }
        } catch (IOException e) {
            throw new ConfigException(ENV_DIR, "cannot list " + dir + ": " + Messages.oneLine(e));
        }
        return new URLClassLoader("sidegate-plugins", jars.toArray(URL[]::new), Plugins.class.getClassLoader());
    }

    public java.util.Set<String> names() {
        return byName.keySet();
    }

    /**
     * The stages a route's plugins contribute, in the route's order.
     *
     * @throws ConfigException naming the route's key when a plugin is unknown or rejects its config
     */
    public List<Stage> stagesFor(List<PluginSpec> specs) {
        List<Stage> stages = new ArrayList<>(specs.size());
        for (PluginSpec spec : specs) {
            Plugin plugin = byName.get(spec.name());
            if (plugin == null) {
                throw new ConfigException(spec.key() + ".name", "no plugin named '" + spec.name() + "' is loaded ("
                        + (byName.isEmpty() ? "none are; set " + ENV_DIR : "loaded: " + String.join(", ", byName.keySet())) + ")");
            }
            Stage stage;
            try {
                stage = plugin.create(spec.config());
            } catch (RuntimeException e) {
                throw new ConfigException(spec.key() + ".config", "plugin '" + spec.name() + "' rejected its config: "
                        + Messages.oneLine(e));
            }
            if (stage == null) {
                throw new ConfigException(spec.key(), "plugin '" + spec.name() + "' created no stage");
            }
            stages.add(new Named(spec.name(), stage));
        }
        return stages;
    }

    @Override
    public void close() {
        loader.ifPresent(l -> {
            try {
                l.close();
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "closing the plugin class loader failed: " + Messages.oneLine(e));
            }
        });
    }

    /** A plugin's stage under the name problems and logs show: {@code plugin 'name'}. */
    private record Named(String plugin, Stage stage) implements Stage, AutoCloseable {
        @Override
        public ProxyResponse apply(ProxyRequest request, Chain chain) {
            return stage.apply(request, chain);
        }

        @Override
        public String name() {
            return "plugin '" + plugin + "'";
        }

        @Override
        public void close() throws Exception {
            if (stage instanceof AutoCloseable closeable) {
                closeable.close();
            }
        }
    }
}
