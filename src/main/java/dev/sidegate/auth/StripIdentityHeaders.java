package dev.sidegate.auth;

import java.util.List;

import dev.sidegate.proxy.Headers;
import dev.sidegate.proxy.ProxyRequest;
import dev.sidegate.proxy.ProxyResponse;
import dev.sidegate.proxy.Stage;

/**
 * The first stage, on every route, public ones too, with auth on or off: removes the identity headers that only
 * Sidegate may set ({@code X-User-ID}, {@code X-Org-ID}, {@code X-Roles} and every header of the claim mapping), so a
 * client can never claim an identity the upstream would trust. Names are compared in their normal form
 * ({@link Headers#normalName}): {@code X_User_ID} and {@code x-user_id} are {@code X-User-ID} to a CGI-style upstream.
 */
public final class StripIdentityHeaders implements Stage {
    private final String[] names;

    public StripIdentityHeaders(List<String> names) {
        this.names = names.stream().map(Headers::normalName).distinct().toArray(String[]::new);
    }

    /**
     * Whether the field name has the normal form of a protected name; the usual field is told by its length alone.
     * Comparing lengths first is exact: the protected names are ASCII tokens (configuration checks them), and no
     * name of another length folds to ASCII.
     */
    private boolean isProtected(String name) {
        for (String normal : names) {
            if (normal.length() == name.length() && Headers.hasNormalName(name, normal)) {
                return true;
            }
        }
        return false;
    }

    private Headers withoutProtected(Headers headers) {
        Headers.Builder cleaned = Headers.builder();
        for (int i = 0; i < headers.size(); i++) {
            if (!isProtected(headers.name(i))) {
                cleaned.add(headers.name(i), headers.value(i));
            }
        }
        return cleaned.build();
    }

    @Override
    public String name() {
        return "identity-headers";
    }

    @Override
    public ProxyResponse apply(ProxyRequest request, Chain chain) {
        Headers headers = request.headers();
        for (int i = 0; i < headers.size(); i++) {
            if (isProtected(headers.name(i))) {
                return chain.proceed(request.withHeaders(withoutProtected(headers)));
            }
        }
        return chain.proceed(request);
    }
}
