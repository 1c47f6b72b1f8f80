package dev.sidegate.proxy;

import java.util.Map;

import io.helidon.http.Status;

/**
 * Helidon statuses with a reason phrase for every code: Helidon 4.5 knows most IANA codes, and writes the bare number
 * as the reason of the others ({@code HTTP/1.1 431 431}).
 */
public final class Statuses {
    private static final Map<Integer, String> MISSING = Map.of(
            102, "Processing",
            103, "Early Hints",
            208, "Already Reported",
            226, "IM Used",
            425, "Too Early",
            431, "Request Header Fields Too Large",
            451, "Unavailable For Legal Reasons",
            506, "Variant Also Negotiates");

    private Statuses() {
    }

    public static Status of(int code) {
        Status status = Status.create(code);
        if (status.reasonPhrase() != null && !status.reasonPhrase().isEmpty()) {
            return status;
        }
        return Status.create(code, MISSING.getOrDefault(code, "Unknown Status"));
    }
}
