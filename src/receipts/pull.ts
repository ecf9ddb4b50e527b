/**
 * Delivery receipts pulled from the providers, for accounts whose pushes are not configured: Aliyun
 * `QuerySendDetails` (one number and send date per call, narrowed by BizId), Tencent `PullSmsSendStatus` (a queue of
 * recent statuses, each handed out once) and WeCom `get_groupmsg_send_result` (per task and staff member). What comes
 * back is recorded exactly as a pushed receipt is (src/dispatch/delivery.ts): matched by provider message id, once.
 * Used by `chuda receipts pull` and, for channels with `options: { pull_receipts: true }`, at the end of a dispatch run.
 */
import type { ReceiptInput } from "../dispatch/delivery.js";
import { createHttpClient, type HttpClient } from "../drivers/http.js";
import { pullAliyun } from "./aliyun.js";
import { pullTencent } from "./tencent.js";
import { pullWecom } from "./wecom.js";

/** A send the provider accepted that has no final receipt yet. */
export interface UnconfirmedSend {
  key: string;
  address: string | null;
  provider_id: string | null;
  sender: string | null;
  send_at: number;
  first_attempt_at: number | null;
}

export interface PullContext {
  channel: string;
  secrets: Record<string, string>;
  baseUrl?: string;
  options: Record<string, unknown>;
  now: () => number;
  http: HttpClient;
}

export type Puller = (ctx: PullContext, sends: UnconfirmedSend[]) => Promise<ReceiptInput[]>;

/** Drivers whose receipts can be pulled. */
export const PULLERS: Record<string, Puller> = { "aliyun-sms": pullAliyun, "tencent-sms": pullTencent, wecom: pullWecom };

export function pullContext(
  channel: string,
  secrets: Record<string, string>,
  baseUrl: string | undefined,
  options: Record<string, unknown>,
  now: () => number,
): PullContext {
  return { channel, secrets, baseUrl, options, now, http: createHttpClient({ timeoutMs: 10_000 }) };
}

/** `yyyy-MM-dd HH:mm:ss` in China time → epoch ms. */
export function cnTime(s: unknown): number | undefined {
  if (typeof s !== "string" || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(s)) return undefined;
  const t = Date.parse(s.replace(" ", "T") + "+08:00");
  return Number.isNaN(t) ? undefined : t;
}

/** Runs `f` over items, at most `n` at a time. */
export async function eachLimit<T>(items: T[], n: number, f: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (i < items.length) await f(items[i++]!);
    }),
  );
}
