package dev.sidegate.assembly;

import java.util.List;
import java.util.Map;

import io.helidon.config.Config;
import io.helidon.config.spi.ConfigNode;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.representer.Representer;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * The YAML file as Helidon config nodes, with every key kept whole. Helidon's own YAML source reads a dot in a key
 * as a path separator, so a route-limit key like {@code /orders.v1.Orders/Get} or {@code /api/v1.2} became nested
 * sections; here each key is escaped before Helidon sees it. Scalars stay the text the file has (no implicit
 * typing: {@code 010}, {@code 1.0} and {@code 2026-01-01} arrive as written; an empty value is empty).
 */
final class YamlTree {
    private YamlTree() {
    }

    /** @throws RuntimeException from SnakeYAML when the text is not YAML, or its root is not a mapping */
    static ConfigNode.ObjectNode parse(String text) {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        Resolver textOnly = new Resolver() {
            @Override
            protected void addImplicitResolvers() {
                // none: every scalar is a string
            }
        };
        Yaml yaml = new Yaml(new SafeConstructor(options), new Representer(new DumperOptions()), new DumperOptions(),
                             options, textOnly);
        Object root = yaml.load(text);
        if (root == null) {
            return ConfigNode.ObjectNode.empty();
        }
        if (!(root instanceof Map<?, ?> map)) {
            throw new IllegalArgumentException("the document is not a mapping of keys");
        }
        return object(map);
    }

    private static ConfigNode.ObjectNode object(Map<?, ?> map) {
        ConfigNode.ObjectNode.Builder b = ConfigNode.ObjectNode.builder();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String name = Config.Key.escapeName(String.valueOf(e.getKey()));
            switch (e.getValue()) {
                case Map<?, ?> m -> b.addObject(name, object(m));
                case List<?> l -> b.addList(name, list(l));
                case null -> b.addValue(name, "");
                default -> b.addValue(name, String.valueOf(e.getValue()));
            }
        }
        return b.build();
    }

    private static ConfigNode.ListNode list(List<?> items) {
        ConfigNode.ListNode.Builder b = ConfigNode.ListNode.builder();
        for (Object item : items) {
            switch (item) {
                case Map<?, ?> m -> b.addObject(object(m));
                case List<?> l -> b.addList(list(l));
                case null -> b.addValue("");
                default -> b.addValue(String.valueOf(item));
            }
        }
        return b.build();
    }
}
