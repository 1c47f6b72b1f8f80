package dev.sidegate.config;

/** Turns exceptions into the one-line reasons that Sidegate logs and reports. */
public final class Messages {
    private Messages() {
    }

    /** The innermost cause's message on one line, or its type when it has none. Never a stack trace. */
    public static String oneLine(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage() == null || root.getMessage().isBlank()
                ? root.getClass().getSimpleName()
                : root.getMessage();
        return message.replaceAll("\\s+", " ").trim();
    }
}
