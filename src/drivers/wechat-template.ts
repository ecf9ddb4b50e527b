/**
 * Driver `wechat-template`: 服务号 template message (docs/channels.md). One call per recipient, a batch's calls run
 * with a small concurrency bound. `client_msg_id` = the request's dedupeId, so a re-send of the same request within
 * 10 minutes of its first attempt is delivered once (§1.2).
 */
import type { Driver, DriverContext, DriverInstance, SendOutcome, SendRequest } from "./types.js";
import type { TemplateMessageContent } from "../content/types.js";
import { createHttpClient, mapLimit } from "./http.js";
import { type Failed, failed, numOpt } from "./common.js";
import { callWechat, messageOutcome, wechatTokens, wrapData } from "./wechat-token.js";

/** The error code → class table of docs/channels.md (47003 and the token codes are handled apart). Others: `request`. */
export const TEMPLATE_ERROR_CLASSES: Record<number, Failed["class"]> = {
  [-1]: "retry",
  40003: "recipient",
  43004: "recipient",
  40037: "request",
  40036: "request",
  40039: "request",
  40249: "request",
  43116: "stop",
  45009: "defer",
  45011: "defer",
  48001: "stop", // API unauthorised for this account
};

/** Provider-side dedupe window of `client_msg_id` (§1.2). */
const DEDUPE_WINDOW_MS = 10 * 60_000;

function create(ctx: DriverContext): DriverInstance {
  const http = createHttpClient({ timeoutMs: ctx.timeoutMs });
  const tokens = wechatTokens(ctx, http);
  const o = ctx.options ?? {};
  const concurrency = Math.max(1, Math.floor(numOpt(o, "concurrency", 8)));
  /** A re-send must reach the provider inside the window: keep a margin of at least the request timeout. */
  const marginMs = Math.max(60_000, ctx.timeoutMs);
  /** Ledger key → epoch ms of the first attempt. */
  const firstAttempt = new Map<string, number>();

  function prune(now: number) {
    if (firstAttempt.size < 50_000) return;
    for (const [k, t] of firstAttempt) if (now - t > DEDUPE_WINDOW_MS) firstAttempt.delete(k);
  }

  async function sendOne(r: SendRequest, batch: readonly SendRequest[]): Promise<SendOutcome> {
    if (r.content.kind !== "template_message")
      return failed("request", "content_kind", `wechat-template: content of kind ${r.content.kind} cannot be sent by this driver`);
    if (!r.address) return failed("recipient", "no_address", "wechat-template: the member has no openid");
    const c: TemplateMessageContent = r.content;
    if (!firstAttempt.has(r.key)) firstAttempt.set(r.key, ctx.now());
    const body: Record<string, unknown> = { touser: r.address, template_id: c.template_id };
    if (c.url !== undefined) body.url = c.url;
    if (c.miniprogram !== undefined) body.miniprogram = { appid: c.miniprogram.appid, pagepath: c.miniprogram.pagepath };
    body.client_msg_id = r.dedupeId;
    body.data = wrapData(c.data);
    const res = await callWechat(ctx, http, tokens, "/cgi-bin/message/template/send", body, "template/send");
    return messageOutcome(res, r, batch, TEMPLATE_ERROR_CLASSES, "template/send", ctx.now());
  }

  return {
    async send(batch) {
      prune(ctx.now());
      const out: SendOutcome[] = new Array(batch.length);
      await mapLimit(batch, concurrency, async (r, i) => {
        out[i] = await sendOne(r, batch);
      });
      return out;
    },
    /**
     * Within 10 minutes of a request's first attempt (less a margin), sends it again with the same
     * `client_msg_id`: the provider delivers it at most once. Later, or for a request this process never sent,
     * the provider cannot tell (no query API): `undefined`.
     */
    async reconcile(requests) {
      const out: (SendOutcome | undefined)[] = new Array(requests.length).fill(undefined);
      await mapLimit(requests, concurrency, async (r, i) => {
        const first = firstAttempt.get(r.key) ?? r.firstAttemptAt;
        if (first === undefined || ctx.now() - first >= DEDUPE_WINDOW_MS - marginMs) return;
        out[i] = await sendOne(r, requests);
      });
      return out;
    },
    async close() {
      http.close();
    },
  };
}

const wechatTemplate: Driver = {
  name: "wechat-template",
  contentKind: "template_message",
  batchLimit: 100,
  secrets: ["app_id", "app_secret"],
  paced: true,
  perRecipient: true,
  create,
};

export default wechatTemplate;
