/**
 * The `serve:` section of chuda.yaml (what `chuda serve` accepts) and the top-level `rates:` switch.
 *   allow_from       IP addresses or CIDR blocks allowed to push callbacks (default: any; the path token still applies)
 *   opt_out_words    SMS replies that mean an opt-out (default TD, T, R, 退订, 拒收), matched whole, case-insensitive
 *   opt_out_scope    `sms` (default): an opt-out reply stops every SMS channel; `all`: every channel
 *   events_token_env the environment variable holding the bearer token `POST /events` requires
 *   public_url       the base URL of tracked links (`{{track "…"}}` → `<public_url>/r/<id>`)
 */
import { isIP } from "node:net";
import { MESSAGES } from "../diagnostics/messages/index.js";
import type { Entry, YamlReader } from "./yaml-reader.js";

export interface ServeConfig {
  allowFrom: string[];
  optOutWords: string[];
  optOutScope: "sms" | "all";
  /** Name of the environment variable holding the bearer token `POST /events` requires. */
  eventsTokenEnv?: string;
  /** Base URL of tracked links, without a trailing slash. */
  publicUrl?: string;
}

export const DEFAULT_OPT_OUT_WORDS = ["TD", "T", "R", "退订", "拒收"];
export const SERVE_KEYS = ["allow_from", "opt_out_words", "opt_out_scope", "events_token_env", "public_url"] as const;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function defaultServeConfig(): ServeConfig {
  return { allowFrom: [], optOutWords: [...DEFAULT_OPT_OUT_WORDS], optOutScope: "sms" };
}

/** Whether `s` is an IP address or a CIDR block (`10.0.0.0/8`, `2001:db8::/32`). */
export function isAddressOrBlock(s: string): boolean {
  const [ip, bits, extra] = s.split("/");
  if (extra !== undefined || !ip) return false;
  const v = isIP(ip);
  if (!v) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (v === 4 ? 32 : 128);
}

export function readServe(r: YamlReader, e: Entry | undefined): ServeConfig {
  const out = defaultServeConfig();
  for (const x of (e ? r.mapping(e, SERVE_KEYS) : []) ?? []) {
    if (x.key === "opt_out_scope") {
      const v = r.str(x, "`sms` or `all`");
      if (v === "sms" || v === "all") out.optOutScope = v;
      else if (v !== undefined) r.report(MESSAGES.projectServeBadOptOutScope, x.span, [v]);
      continue;
    }
    if (x.key === "events_token_env") {
      const v = r.str(x);
      if (v !== undefined && ENV_NAME.test(v)) out.eventsTokenEnv = v;
      else if (v !== undefined) r.report(MESSAGES.projectEventsTokenEnv, x.span, [v]);
      continue;
    }
    if (x.key === "public_url") {
      const v = r.str(x);
      const url = v === undefined ? undefined : publicUrl(v);
      if (url) out.publicUrl = url;
      else if (v !== undefined) r.report(MESSAGES.projectPublicUrl, x.span, [v]);
      continue;
    }
    const items = r.list(x, "a list of strings") ?? [];
    const values: string[] = [];
    for (const it of items) {
      const v = r.str(it);
      if (v === undefined) continue;
      if (x.key === "allow_from" && !isAddressOrBlock(v.trim())) r.report(MESSAGES.projectServeBadAddress, it.span, [v, x.path]);
      else if (x.key === "opt_out_words" && !v.trim()) r.report(MESSAGES.projectServeEmptyOptOutWord, it.span);
      else values.push(v.trim());
    }
    if (x.key === "allow_from") out.allowFrom = values;
    else out.optOutWords = values;
  }
  return out;
}

/** Top-level `rates:` — `configured` (default): simulate uses each channel's `rates`; `observed`: the delivery rates seen. */
export function readRatesMode(r: YamlReader, e: Entry | undefined): "configured" | "observed" {
  if (!e) return "configured";
  const v = r.str(e, "`observed` or `configured`");
  if (v === "observed" || v === "configured") return v;
  if (v !== undefined) r.report(MESSAGES.projectBadRatesMode, e.span, [v]);
  return "configured";
}

function publicUrl(v: string): string | undefined {
  try {
    const u = new URL(v);
    if ((u.protocol !== "http:" && u.protocol !== "https:") || u.search || u.hash) return undefined;
    return u.href.replace(/\/+$/, "");
  } catch {
    return undefined;
  }
}
