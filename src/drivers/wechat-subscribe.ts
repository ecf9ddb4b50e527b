/**
 * Driver `wechat-subscribe`: mini-program subscribe message (docs/channels.md). One call per recipient; calls to the
 * same openid are serialised (43108), other calls of a batch run with a small concurrency bound. There is no
 * provider dedupe and no query API: an ambiguous send stays ambiguous (no `reconcile`).
 */
import type { Driver, DriverContext, DriverInstance, SendOutcome, SendRequest } from "./types.js";
import type { SubscribeMessageContent } from "../content/types.js";
import { createHttpClient, mapLimit } from "./http.js";
import { type Failed, failed, numOpt } from "./common.js";
import { callWechat, messageOutcome, wechatTokens, wrapData } from "./wechat-token.js";

/** The error code → class table of docs/channels.md (47003 and the token codes are handled apart). Others: `request`. */
export const SUBSCRIBE_ERROR_CLASSES: Record<number, Failed["class"]> = {
  [-1]: "retry",
  40003: "recipient",
  40037: "request",
  41030: "request",
  43101: "recipient",
  43107: "stop",
  43108: "retry",
  45168: "request",
  45009: "defer",
  45011: "defer",
};

const STATES = new Set(["developer", "trial", "formal"]);
const LANGS = new Set(["zh_CN", "en_US", "zh_HK", "zh_TW"]);

function create(ctx: DriverContext): DriverInstance {
  const http = createHttpClient({ timeoutMs: ctx.timeoutMs });
  const tokens = wechatTokens(ctx, http);
  const o = ctx.options ?? {};
  const concurrency = Math.max(1, Math.floor(numOpt(o, "concurrency", 8)));
  const defaultState = typeof o.miniprogram_state === "string" && STATES.has(o.miniprogram_state) ? o.miniprogram_state : "formal";
  const defaultLang = typeof o.lang === "string" && LANGS.has(o.lang) ? o.lang : "zh_CN";

  async function sendOne(r: SendRequest, batch: readonly SendRequest[]): Promise<SendOutcome> {
    if (r.content.kind !== "subscribe_message")
      return failed("request", "content_kind", `wechat-subscribe: content of kind ${r.content.kind} cannot be sent by this driver`);
    if (!r.address) return failed("recipient", "no_address", "wechat-subscribe: the member has no openid");
    const c: SubscribeMessageContent = r.content;
    const body: Record<string, unknown> = { touser: r.address, template_id: c.template_id };
    if (c.page !== undefined && c.page !== "") body.page = c.page;
    body.miniprogram_state = c.miniprogram_state ?? defaultState;
    body.lang = c.lang ?? defaultLang;
    body.data = wrapData(c.data);
    const res = await callWechat(ctx, http, tokens, "/cgi-bin/message/subscribe/send", body, "subscribe/send");
    return messageOutcome(res, r, batch, SUBSCRIBE_ERROR_CLASSES, "subscribe/send", ctx.now());
  }

  return {
    async send(batch) {
      const out: SendOutcome[] = new Array(batch.length);
      // One lane per openid: a member's sends go one after another, lanes run concurrently.
      const lanes = new Map<string, number[]>();
      batch.forEach((r, i) => {
        const l = lanes.get(r.address);
        if (l) l.push(i);
        else lanes.set(r.address, [i]);
      });
      await mapLimit([...lanes.values()], concurrency, async (idxs) => {
        for (const i of idxs) out[i] = await sendOne(batch[i], batch);
      });
      return out;
    },
    async close() {
      http.close();
    },
  };
}

const wechatSubscribe: Driver = {
  name: "wechat-subscribe",
  contentKind: "subscribe_message",
  batchLimit: 100,
  secrets: ["app_id", "app_secret"],
  paced: true,
  perRecipient: true,
  create,
};

export default wechatSubscribe;
