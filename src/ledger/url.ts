/** Ledger URLs: which backend a URL names, and the URL as it may be shown (never with its password). */

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/**
 * The URL with its password (and a `password=` query parameter) replaced by `***`, for every message. Also a URL
 * that does not parse: a password holding `#`, `/`, `?` or `@` unencoded, a scheme missing or mistyped
 * (`user:password@host/db`, `postgresql//…`). Everything between the user's `:` and the last `@` is the password.
 */
export function maskUrl(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? /^[a-z][a-z0-9+.-]*\/\//i.exec(url)?.[0] ?? "";
  let rest = url.slice(scheme.length);
  const at = rest.lastIndexOf("@");
  if (at > 0) {
    const colon = rest.indexOf(":");
    if (colon >= 0 && colon < at) rest = `${rest.slice(0, colon)}:***${rest.slice(at)}`;
  }
  return (scheme + rest).replace(/([?&](?:password|passwd|pwd)=)[^&#]*/gi, "$1***");
}

/** Why a PostgreSQL URL cannot be used, in words, or undefined: it must be postgres:// and parse. */
export function postgresUrlProblem(url: string): string | undefined {
  if (!isPostgresUrl(url)) return `it starts ${JSON.stringify(maskUrl(url).slice(0, 24))}, not postgres://`;
  try {
    new URL(url);
    return undefined;
  } catch {
    return "it does not parse: write a password's special characters percent-encoded (# as %23, / as %2F, ? as %3F, @ as %40, : as %3A) and a port from 1 to 65535";
  }
}

/** Any occurrence of the URL's password in a text (a driver's error message quoting the URL) replaced by `***`. */
export function maskSecretIn(text: string, url: string): string {
  let secret: string | undefined;
  try {
    secret = decodeURIComponent(new URL(url).password);
  } catch {
    secret = undefined;
  }
  let out = text.split(url).join(maskUrl(url));
  if (secret) out = out.split(secret).join("***");
  return out;
}

/**
 * A PostgreSQL URL whose `sslmode` means what it means to psql and libpq: node-postgres reads `require` as
 * `verify-full` (and warns at length) unless asked for libpq's meaning, which would refuse the self-signed
 * certificate of an internal server that psql accepts with the same URL.
 */
export function libpqUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.searchParams.has("sslmode") || u.searchParams.has("uselibpqcompat")) return url;
    u.searchParams.set("uselibpqcompat", "true");
    return u.toString();
  } catch {
    return url;
  }
}
