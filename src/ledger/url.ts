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
