/**
 * Request signatures of the SMS providers and of the project's webhook protocol, as pure functions
 * (docs/channels.md, `aliyun-sms` Aliyun RPC HMAC-SHA1, §8.2 Tencent TC3-HMAC-SHA256, §10 webhook HMAC-SHA256).
 * The drivers sign with these; the loopback fakes verify with the same functions over what they received.
 */
import { createHash, createHmac } from "node:crypto";

// ---------------------------------------------------------------------------------------------------------------
// Aliyun RPC (§7.2)

/** RFC 3986 percent-encoding of UTF-8: unreserved `A–Z a–z 0–9 - _ . ~` stay, everything else is `%XX`. */
export function percentEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Byte-order comparison of two ASCII-ish names (parameter names are ASCII). */
function byteCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `CanonicalizedQueryString`: every parameter but `Signature`, sorted by name, `enc(name)=enc(value)` joined by `&`. */
export function aliyunCanonicalQuery(params: Record<string, string>): string {
  return Object.keys(params)
    .filter((k) => k !== "Signature")
    .sort(byteCompare)
    .map((k) => `${percentEncode(k)}=${percentEncode(params[k] ?? "")}`)
    .join("&");
}

/** `StringToSign` = `METHOD&%2F&enc(CanonicalizedQueryString)`. */
export function aliyunStringToSign(method: string, params: Record<string, string>): string {
  return `${method.toUpperCase()}&${percentEncode("/")}&${percentEncode(aliyunCanonicalQuery(params))}`;
}

/** Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)). */
export function aliyunSignature(method: string, params: Record<string, string>, accessKeySecret: string): string {
  return createHmac("sha1", `${accessKeySecret}&`).update(aliyunStringToSign(method, params), "utf8").digest("base64");
}

// ---------------------------------------------------------------------------------------------------------------
// Tencent Cloud TC3-HMAC-SHA256 (§8.2)

export const TC3_CONTENT_TYPE = "application/json; charset=utf-8";

export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function hmac256(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

/** UTC date `YYYY-MM-DD` of a Unix-seconds timestamp (never local time). */
export function tc3Date(timestamp: number): string {
  return new Date(timestamp * 1000).toISOString().slice(0, 10);
}

export interface Tc3Input {
  secretId: string;
  secretKey: string;
  /** `sms` (the provider vector uses `cvm`). */
  service: string;
  /** Method, default `POST`. */
  method?: string;
  /** URI path, default `/`. */
  path?: string;
  /** Query string, default empty. */
  query?: string;
  /** Unix seconds, the `X-TC-Timestamp` header. */
  timestamp: number;
  /** Lower-case header name → value, for every header in `signedHeaders` (host without port). */
  headers: Record<string, string>;
  /** Lower-case header names, e.g. `["content-type", "host", "x-tc-action"]`; sorted before use. */
  signedHeaders: string[];
  /** The exact body bytes sent. */
  body: string | Buffer;
  /** Overrides the credential date (only to reproduce the "Beijing date" bug in tests). */
  date?: string;
}

export interface Tc3Result {
  hashedPayload: string;
  canonicalRequest: string;
  stringToSign: string;
  credentialScope: string;
  signedHeaders: string;
  signature: string;
  authorization: string;
}

/** The TC3 signature and every intermediate value. Header values are trimmed and lower-cased, names lower-cased. */
export function tc3Sign(i: Tc3Input): Tc3Result {
  const names = [...new Set(i.signedHeaders.map((h) => h.toLowerCase()))].sort(byteCompare);
  const lowered: Record<string, string> = {};
  for (const [k, v] of Object.entries(i.headers)) lowered[k.toLowerCase()] = v;
  const canonicalHeaders = names.map((n) => `${n}:${(lowered[n] ?? "").trim().toLowerCase()}\n`).join("");
  const signedHeaders = names.join(";");
  const hashedPayload = sha256Hex(i.body);
  const canonicalRequest = [(i.method ?? "POST").toUpperCase(), i.path ?? "/", i.query ?? "", canonicalHeaders, signedHeaders, hashedPayload].join("\n");
  const date = i.date ?? tc3Date(i.timestamp);
  const credentialScope = `${date}/${i.service}/tc3_request`;
  const stringToSign = `TC3-HMAC-SHA256\n${i.timestamp}\n${credentialScope}\n${sha256Hex(canonicalRequest)}`;
  const kDate = hmac256(`TC3${i.secretKey}`, date);
  const kService = hmac256(kDate, i.service);
  const kSigning = hmac256(kService, "tc3_request");
  const signature = createHmac("sha256", kSigning).update(stringToSign, "utf8").digest("hex");
  const authorization = `TC3-HMAC-SHA256 Credential=${i.secretId}/${credentialScope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { hashedPayload, canonicalRequest, stringToSign, credentialScope, signedHeaders, signature, authorization };
}

/** The derived signing keys (hex), for checking against the documented vector. */
export function tc3Keys(secretKey: string, date: string, service: string): { kDate: string; kService: string; kSigning: string } {
  const kDate = hmac256(`TC3${secretKey}`, date);
  const kService = hmac256(kDate, service);
  const kSigning = hmac256(kService, "tc3_request");
  return { kDate: kDate.toString("hex"), kService: kService.toString("hex"), kSigning: kSigning.toString("hex") };
}

/** Parses `TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request, SignedHeaders=a;b, Signature=<hex>`. */
export function parseTc3Authorization(
  header: string | undefined,
): { secretId: string; date: string; service: string; signedHeaders: string[]; signature: string } | undefined {
  if (!header) return undefined;
  const m =
    /^TC3-HMAC-SHA256\s+Credential=([^/\s,]+)\/(\d{4}-\d{2}-\d{2})\/([^/\s,]+)\/tc3_request\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-f]{64})\s*$/.exec(
      header.trim(),
    );
  if (!m) return undefined;
  return { secretId: m[1]!, date: m[2]!, service: m[3]!, signedHeaders: m[4]!.split(";"), signature: m[5]! };
}

// ---------------------------------------------------------------------------------------------------------------
// Webhook (§10, the project's own protocol)

/** `sha256=` + hex(HMAC-SHA256(secret, `<timestamp>.<raw body>`)). */
export function webhookSignature(secret: string, timestamp: number | string, body: string | Buffer): string {
  const h = createHmac("sha256", secret);
  h.update(`${timestamp}.`, "utf8");
  h.update(body);
  return `sha256=${h.digest("hex")}`;
}

/** Constant-time-ish comparison of two signature strings. */
export function safeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}
