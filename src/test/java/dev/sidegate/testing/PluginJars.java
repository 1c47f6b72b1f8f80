package dev.sidegate.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * Builds plugin jars the way a plugin author would: compiles sources against Sidegate's classes (the test class
 * path) with the JDK's compiler and packs the classes and resources into a jar.
 */
public final class PluginJars {
    private PluginJars() {
    }

    /**
     * @param sources   a directory of {@code .java} files (searched recursively)
     * @param resources a directory copied into the jar as is (e.g. {@code META-INF/services}), may be null
     * @param jar       the jar to write
     */
    public static Path build(Path sources, Path resources, Path jar) {
        try {
            Path classes = Files.createTempDirectory("plugin-classes");
            List<String> args = new ArrayList<>(List.of("-d", classes.toString(), "-classpath", System.getProperty("java.class.path"),
                                                        "--release", "21", "-proc:none"));
            try (Stream<Path> files = Files.walk(sources)) {
                files.filter(f -> f.toString().endsWith(".java")).forEach(f -> args.add(f.toString()));
            }
            JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
            ByteArrayOutputStream errors = new ByteArrayOutputStream();
            int rc = javac.run(null, null, errors, args.toArray(String[]::new));
            if (rc != 0) {
                throw new IllegalStateException("compiling the plugin failed:\n" + errors);
            }
            try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
                add(out, classes);
                if (resources != null) {
                    add(out, resources);
                }
            }
            return jar;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A jar holding one plugin class given as source, registered in its {@code META-INF/services}. */
    public static Path single(String className, String source, Path jar) {
        try {
            Path sources = Files.createTempDirectory("plugin-src");
            Path file = sources.resolve(className.replace('.', '/') + ".java");
            Files.createDirectories(file.getParent());
            Files.writeString(file, source);
            Path resources = Files.createTempDirectory("plugin-res");
            Files.createDirectories(resources.resolve("META-INF/services"));
            Files.writeString(resources.resolve("META-INF/services/dev.sidegate.plugin.Plugin"), className + "\n");
            return build(sources, resources, jar);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void add(JarOutputStream out, Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                out.putNextEntry(new JarEntry(root.relativize(f).toString().replace('\\', '/')));
                Files.copy(f, out);
                out.closeEntry();
            }
        }
    }
}
