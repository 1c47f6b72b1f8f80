package dev.sidegate.proxy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import dev.sidegate.config.Cidr;

/**
 * Who the client is, and the {@code X-Forwarded-*} headers the upstream gets.
 *
 * <p>A peer outside {@code SIDEGATE_TRUSTED_PROXIES} cannot influence either: its forwarding headers are dropped
 * and replaced. Behind a trusted proxy, the client is the right-most {@code X-Forwarded-For} hop that is not itself
 * a trusted proxy, and the proxy's forwarding headers are kept and extended.
 */
public final class Forwarding {
    /** Headers through which a peer can claim another client identity. */
    static final Set<String> FORWARDING_HEADERS = Set.of(
            "forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port",
            "x-forwarded-prefix", "x-real-ip");

    private final List<Cidr> trustedProxies;

    public Forwarding(List<Cidr> trustedProxies) {
        this.trustedProxies = List.copyOf(trustedProxies);
    }

    public boolean trusted(InetAddress address) {
        for (Cidr cidr : trustedProxies) {
            if (cidr.contains(address)) {
                return true;
            }
        }
        return false;
    }

    /** The client's address given the socket peer and the X-Forwarded-For field values. */
    public InetAddress clientAddress(InetAddress peer, List<String> forwardedFor) {
        if (!trusted(peer) || forwardedFor.isEmpty()) {
            return peer;
        }
        List<String> hops = new ArrayList<>();
        for (String value : forwardedFor) {
            for (String hop : value.split(",")) {
                hops.add(hop.trim());
            }
        }
        InetAddress client = peer;
        for (int i = hops.size() - 1; i >= 0; i--) {
            InetAddress hop = parseLiteral(hops.get(i));
            if (hop == null) {
                break; // garbage in the chain: believe nothing to its left
            }
            client = hop;
            if (!trusted(hop)) {
                break;
            }
        }
        return client;
    }

    /** Sets the forwarding headers on the request going upstream. */
    void apply(List<String> originalForwardedFor, Headers.Builder out, Exchange.Client client) {
        String peer = client.peer().getHostAddress();
        if (trusted(client.peer())) {
            List<String> chain = originalForwardedFor;
            out.set("X-Forwarded-For", chain.isEmpty() ? peer : String.join(", ", chain) + ", " + peer);
            if (!out.contains("X-Forwarded-Proto")) {
                out.set("X-Forwarded-Proto", client.secure() ? "https" : "http");
            }
            if (!out.contains("X-Forwarded-Host") && client.host() != null) {
                out.set("X-Forwarded-Host", client.host());
            }
            return;
        }
        for (String name : FORWARDING_HEADERS) {
            out.remove(name);
        }
        out.set("X-Forwarded-For", peer);
        out.set("X-Forwarded-Proto", client.secure() ? "https" : "http");
        if (client.host() != null) {
            out.set("X-Forwarded-Host", client.host());
        }
    }

    static InetAddress parseLiteral(String text) {
        String t = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
        if (t.isEmpty() || (t.indexOf('.') < 0 && t.indexOf(':') < 0)
                || !t.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == '.' || c == ':')) {
            return null;
        }
        try {
            // A literal (checked above), so no DNS lookup happens.
            return InetAddress.getByName(t);
        } catch (UnknownHostException e) {
            return null;
        }
    }
}
