package dev.sidegate.testing;

/** Reads Sidegate's Prometheus text on the admin port. */
public final class Meters {
    private Meters() {
    }

    /** The value of the first sample of a meter whose labels include all the given ones (0 when absent). */
    public static long value(SidegateFixture sg, String name, String... labels) {
        for (String line : sg.admin("/observe/metrics").body().split("\n")) {
            if ((line.startsWith(name + "{") || line.startsWith(name + " ")) && java.util.Arrays.stream(labels).allMatch(line::contains)) {
                return (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return 0;
    }
}
