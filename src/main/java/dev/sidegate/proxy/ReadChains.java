package dev.sidegate.proxy;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;

import io.helidon.common.buffers.DataReader;

/**
 * Works around a GC nepotism in Helidon's {@link DataReader} (4.5.0): it keeps a connection's incoming reads in a
 * linked list and never unlinks a consumed node. Once one node of a keep-alive connection reaches the old
 * generation (the connection idled across a few young collections), the next read is linked from it, and a young
 * collection keeps whatever a dead old object points at: every later read of that connection is then kept alive
 * through its predecessor and promoted in turn. Measured at saturation: about 80 bytes per request, the old
 * generation full at its 64 MB within a minute, while the live heap is 10 MB (loadtest/ANALYSIS.md).
 *
 * <p>{@link #cut} runs at the start of each request, on the connection's thread between the request line and the
 * headers, when nothing is iterating the reader: it replaces the reader's first node with a fresh copy and unlinks
 * the old one, so a chain through a tenured node ends there and later reads hang off young nodes only. It needs
 * private access to the reader's fields; if Helidon changes them, {@link #available()} is false, Sidegate logs that
 * once at startup, and cutting does nothing (the heap then just fills up to its cap, as before).
 */
final class ReadChains {
    private static final System.Logger LOG = System.getLogger(ReadChains.class.getName());
    private static final Access ACCESS = Access.find();

    private ReadChains() {
    }

    private record Access(VarHandle head, VarHandle tail, VarHandle next, VarHandle position, VarHandle bytes, MethodHandle node) {
        static Access find() {
            try {
                MethodHandles.Lookup reader = MethodHandles.privateLookupIn(DataReader.class, MethodHandles.lookup());
                Class<?> nodeClass = Class.forName(DataReader.class.getName() + "$Node", false, DataReader.class.getClassLoader());
                MethodHandles.Lookup nodes = MethodHandles.privateLookupIn(nodeClass, MethodHandles.lookup());
                return new Access(reader.findVarHandle(DataReader.class, "head", nodeClass),
                                  reader.findVarHandle(DataReader.class, "tail", nodeClass),
                                  nodes.findVarHandle(nodeClass, "next", nodeClass),
                                  nodes.findVarHandle(nodeClass, "position", int.class),
                                  nodes.findVarHandle(nodeClass, "bytes", byte[].class),
                                  nodes.findConstructor(nodeClass, MethodType.methodType(void.class, DataReader.class, byte[].class))
                                          .asType(MethodType.methodType(Object.class, DataReader.class, byte[].class)));
            } catch (ReflectiveOperationException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "Helidon's DataReader is not the shape Sidegate knows (" + e
                        + "): its read chains are not cut, so the heap fills to its cap under keep-alive load");
                return null;
            }
        }
    }

    static boolean available() {
        return ACCESS != null;
    }

    /** Replaces the reader's first node with a copy and unlinks the original. Call on the reader's own thread. */
    static void cut(DataReader reader) {
        Access a = ACCESS;
        if (a == null) {
            return;
        }
        try {
            Object head = a.head.get(reader);
            Object copy = a.node.invokeExact(reader, (byte[]) a.bytes.get(head));
            a.position.set(copy, (int) a.position.get(head));
            a.next.set(copy, a.next.get(head));
            a.head.set(reader, copy);
            if (a.tail.get(reader) == head) {
                a.tail.set(reader, copy);
            }
            a.next.set(head, null);
        } catch (Throwable e) {
            throw new IllegalStateException("cutting a read chain", e);
        }
    }
}
