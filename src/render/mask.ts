/**
 * Phone numbers are masked in every report, human or machine, whatever column they are in: a mainland mobile
 * number keeps its country prefix, first 3 and last 4 digits (13812341234 → 138****1234, +86 138-1234-1234 →
 * +86 138-****-1234, 8613812341234 → 86138****1234).
 */

/** A mainland mobile number, optionally after +86, 86 or 0086, its groups optionally split by a space or dash. */
const MOBILE = /(?<!\d)((?:\+86|0086|86)?[ -]?)?(1[3-9]\d)([ -]?)(\d{4})([ -]?)(\d{4})(?!\d)/g;

/** Masks anything that looks like a mainland mobile number inside free text. */
export function maskPhonesIn(text: string): string {
  if (!/\d{4}/.test(text)) return text;
  return text.replace(
    MOBILE,
    (_m, prefix: string | undefined, head: string, s1: string, _mid: string, s2: string, tail: string) => `${prefix ?? ""}${head}${s1}****${s2}${tail}`,
  );
}

/**
 * A value of a `phone` field: mobile numbers as in `maskPhonesIn`; any other number (a landline) keeps only its
 * first 3 and last 4 digits.
 */
export function maskPhone(value: string): string {
  const masked = maskPhonesIn(value);
  if (masked !== value) return masked;
  const digits = value.replace(/\D/g, "");
  if (digits.length < 7) return "*".repeat(value.length);
  let out = "";
  let seen = 0;
  for (const ch of value) {
    if (/\d/.test(ch)) {
      seen++;
      out += seen <= 3 || seen > digits.length - 4 ? ch : "*";
    } else out += ch;
  }
  return out;
}

/** Every string inside a machine-readable result, masked (object keys and numbers are left alone). */
export function maskDeep<T>(value: T): T {
  if (typeof value === "string") return maskPhonesIn(value) as T;
  if (Array.isArray(value)) return value.map(maskDeep) as T;
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskDeep(v)])) as T;
  return value;
}
