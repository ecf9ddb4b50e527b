/** What a provider's callback turns into, and how it is committed. */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ChannelConfig } from "../../project/types.js";
import type { DeliveryCommitResult, DeliveryWrites, ReceiptInput, ReceiptOutcome, SuppressionInput } from "../../dispatch/delivery.js";
import { defaultServeConfig } from "../../project/serve.js";
import type { ServeContext } from "../context.js";

export type CallbackHandler = (req: FastifyRequest, reply: FastifyReply, channel: ChannelConfig, ctx: ServeContext) => Promise<unknown>;

export type { Lift } from "../../dispatch/delivery.js";
export type CallbackWrites = DeliveryWrites;
export type CommitResult = DeliveryCommitResult;

export const emptyWrites = (): CallbackWrites => ({ receipts: [], suppressions: [], lifts: [] });

/** A pushed delivery report of message `providerId`: delivered when `failure` is null, else failed with that code. */
export function pushedReceipt(channel: string, providerId: string, address: string, at: number, failure: string | null): ReceiptInput {
  return { channel, providerId, address, state: failure === null ? "delivered" : "failed", code: failure, at, source: "push" };
}

/** Commits a callback's writes (group commit: durable before this resolves). */
export function commitWrites(ctx: ServeContext, w: CallbackWrites): Promise<CommitResult> {
  return ctx.commit.run(w, ctx.clock());
}

/** Counts of outcomes, for logs and answers. */
export function tally(outcomes: ReceiptOutcome[]): Record<ReceiptOutcome, number> {
  const t: Record<ReceiptOutcome, number> = { applied: 0, pending: 0, duplicate: 0, unknown: 0 };
  for (const o of outcomes) t[o]++;
  return t;
}

/** `yyyy-MM-dd HH:mm:ss` in China time (both SMS providers' report times) → epoch ms, or undefined. */
export function chinaTime(s: unknown): number | undefined {
  if (typeof s !== "string" || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(s.trim())) return undefined;
  const t = Date.parse(s.trim().replace(" ", "T") + "+08:00");
  return Number.isNaN(t) ? undefined : t;
}

/** Whether an SMS reply is an opt-out: one of the configured words, whole, ignoring case, spaces and end punctuation. */
export function isOptOutReply(text: string, words: string[]): boolean {
  const t = text
    .trim()
    .replace(/[\s。.!！,，]+$/u, "")
    .toUpperCase();
  return t.length > 0 && words.some((w) => w.toUpperCase() === t);
}

const SMS_DRIVERS = new Set(["aliyun-sms", "tencent-sms"]);

/**
 * The suppressions an SMS opt-out reply makes. By default (`opt_out_scope: sms`) every SMS channel: the rules on
 * commercial text messages require stopping SMS to a number that refused them, and the providers' own opt-out
 * (拒收请回复R) blacklists the number for SMS only; the member's WeChat and WeCom choices are made there. With
 * `opt_out_scope: all`, every channel (`*`).
 */
export function smsOptOut(ctx: ServeContext, via: string, phone: string, text: string, at: number, dedupe: string): SuppressionInput[] {
  const serve = ctx.project.serve ?? defaultServeConfig();
  const channels = serve.optOutScope === "all" ? ["*"] : [...ctx.project.channels.values()].filter((c) => SMS_DRIVERS.has(c.driver)).map((c) => c.name);
  return channels.map((channel) => ({
    channel,
    address: phone,
    via,
    source: "sms-reply",
    reason: `replied "${text.trim().slice(0, 20)}" to an SMS`,
    actor: "serve",
    at,
    dedupe: `${dedupe}|${channel}`,
  }));
}

export function optOutWords(ctx: ServeContext): string[] {
  return (ctx.project.serve ?? defaultServeConfig()).optOutWords;
}

export const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
