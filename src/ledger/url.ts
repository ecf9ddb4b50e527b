/** Ledger URLs: which backend a URL names, and the URL as it may be shown (never with its password). */

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** The URL with its password (and a `password=` query parameter) replaced by `***`, for every message. */
export function maskUrl(url: string): string {
  let out = url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, "$1:***@");
  out = out.replace(/([?&]password=)[^&#]*/gi, "$1***");
  return out;
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
