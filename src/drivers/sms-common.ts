/**
 * Helpers shared by the two SMS drivers (`aliyun-sms`, `tencent-sms`): outcome builders, phone normalisation,
 * Asia/Shanghai time arithmetic and the call-level id derived from a send's (campaign, occurrence, channel).
 */
import { createHash } from "node:crypto";
import type { SendRequest } from "./types.js";

/** Mainland numbers (`+86`/`0086`/`86`-prefixed or bare 11 digits) → 11 digits; anything else → undefined. */
export function mainlandDigits(raw: string): string | undefined {
  const m = /^(?:\+86|0086|86)?(1\d{10})$/.exec(raw.replace(/[\s-]/g, ""));
  return m ? m[1] : undefined;
}

/** E.164 for Tencent: mainland forms → `+86…`; `+<digits>` kept; `00<digits>` → `+<digits>`; else undefined. */
export function e164(raw: string): string | undefined {
  const s = raw.replace(/[\s-]/g, "");
  const cn = mainlandDigits(s);
  if (cn) return `+86${cn}`;
  if (/^\+[1-9]\d{6,14}$/.test(s)) return s;
  if (/^00[1-9]\d{6,14}$/.test(s)) return `+${s.slice(2)}`;
  return undefined;
}

const CN_OFFSET = 8 * 3600_000;
const DAY = 86_400_000;

/** The next 00:00 Asia/Shanghai after `now`. */
export function nextCnMidnight(now: number): number {
  return Math.floor((now + CN_OFFSET) / DAY) * DAY + DAY - CN_OFFSET;
}

/** The next `hour`:00 Asia/Shanghai strictly after `now`. */
export function nextCnHour(now: number, hour: number): number {
  const dayStart = Math.floor((now + CN_OFFSET) / DAY) * DAY - CN_OFFSET;
  const t = dayStart + hour * 3600_000;
  return t > now ? t : t + DAY;
}

/** `yyyyMMdd` of `ms` in Asia/Shanghai. */
export function cnYmd(ms: number): string {
  const d = new Date(ms + CN_OFFSET);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, "0")}${String(d.getUTCDate()).padStart(2, "0")}`;
}

/**
 * The provider-visible id of a call that carries several recipients of one (campaign, occurrence, channel): the
 * providers echo one `OutId` / `SessionContext` per call, so a multi-number call carries this id and reconciliation
 * matches (phone, this id). A single-number call carries the request's own `dedupeId`.
 */
export function groupId(r: Pick<SendRequest, "campaign" | "occurrence" | "channel">): string {
  return "g" + createHash("sha256").update(`${r.campaign}\u0000${r.occurrence}\u0000${r.channel}`).digest("hex").slice(0, 31);
}
