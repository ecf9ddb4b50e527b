/**
 * What every built-in driver builds its answers from: the one constructor of failed outcomes and the one reader of a
 * channel's `options:` values (chuda.yaml may give a number as a string).
 */
import type { SendOutcome } from "./types.js";

export type Failed = Extract<SendOutcome, { status: "failed" }>;

/** A failed outcome; `notBefore` (epoch ms) only when given, so that outcomes compare equal in tests and logs. */
export function failed(cls: Failed["class"], code: string, message: string, notBefore?: number): Failed {
  return notBefore === undefined ? { status: "failed", class: cls, code, message } : { status: "failed", class: cls, code, message, notBefore };
}

export const isObj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/** A numeric option (a number, or a string that reads as one), else `d`. */
export function numOpt(o: Record<string, unknown>, k: string, d: number): number {
  const v = o[k];
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return d;
}

/** A text option (a non-empty string, or a number written as one), else undefined. */
export function strOpt(o: Record<string, unknown>, k: string): string | undefined {
  const v = o[k];
  if (typeof v === "string" && v !== "") return v;
  if (typeof v === "number") return String(v);
  return undefined;
}
