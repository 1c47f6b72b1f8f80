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
        return oneLine(message, Integer.MAX_VALUE);
    }

    /** Text on one line (runs of whitespace, line breaks included, become one space), cut to {@code max} characters. */
    public static String oneLine(String text, int max) {
        String line = text.replaceAll("\\s+", " ").trim();
        return line.length() > max ? line.substring(0, max) + "..." : line;
    }

    /** A URL with any user info (a password) replaced, for logs, errors and the admin view. */
    public static String redactUserInfo(String url) {
        return url.replaceAll("//[^/@]*@", "//<redacted>@");
    }
}
