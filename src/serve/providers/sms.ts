/**
 * The two SMS providers' pushes. Neither signs them: the path token (and `serve.allow_from`) is their only guard.
 *
 * Aliyun (HTTP batch push): delivery reports `SmsReport` — a JSON array of {phone_number, success, err_code,
 * biz_id, out_id, report_time, …} — and replies `SmsUp` — a JSON array of {phone_number, content, send_time,
 * sequence_id, …}; answer `{"code":0,"msg":"接收成功"}`, anything else makes Aliyun push again (1, 5, 10 minutes).
 * Tencent: status reports — a JSON array of {sid, mobile, nationcode, report_status, errmsg, user_receive_time, …}
 * — and replies — {mobile, nationcode, text, time, sign, extend}, one object or an array; answer
 * `{"result":0,"errmsg":"OK"}`, anything else makes Tencent push twice more.
 * Both URLs may be the same: a report and a reply are told apart by their fields.
 */
import type { FastifyReply } from "fastify";
import { maskPhone } from "../../render/mask.js";
import {
  chinaTime,
  commitWrites,
  emptyWrites,
  isObject,
  isOptOutReply,
  optOutWords,
  pushedReceipt,
  smsOptOut,
  tally,
  type CallbackHandler,
  type CallbackWrites,
} from "./common.js";

class BadInput extends Error {}

interface Answer {
  ok: unknown;
  error: (message: string) => unknown;
}

const ALIYUN: Answer = { ok: { code: 0, msg: "接收成功" }, error: (msg) => ({ code: 1, msg }) };
const TENCENT: Answer = { ok: { result: 0, errmsg: "OK" }, error: (errmsg) => ({ result: 1, errmsg }) };

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined);

/** Item `i` of a push, and the phone number it is about (in field `phoneField`). */
function pushItem(x: unknown, i: number, phoneField: string): { item: Record<string, unknown>; phone: string } {
  if (!isObject(x)) throw new BadInput(`item ${i} is not an object`);
  const phone = str(x[phoneField]);
  if (!phone) throw new BadInput(`item ${i} has no ${phoneField}`);
  return { item: x, phone };
}

/** A member's reply: an opt-out word suppresses the channel (`replyId` tells a reply pushed twice from a new one). */
function reply(w: CallbackWrites, ctx: Parameters<CallbackHandler>[3], channel: string, phone: string, text: string, at: number, replyId: unknown): void {
  if (isOptOutReply(text, optOutWords(ctx)))
    w.suppressions.push(...smsOptOut(ctx, channel, phone, text, at, `sms-reply|${channel}|${phone}|${String(replyId)}`));
}

function aliyunItems(body: unknown, ctx: Parameters<CallbackHandler>[3], channel: string): CallbackWrites {
  if (!Array.isArray(body)) throw new BadInput("expected a JSON array of reports");
  const w = emptyWrites();
  body.forEach((item, i) => {
    const { item: x, phone } = pushItem(item, i, "phone_number");
    if ("content" in x && !("success" in x)) {
      // SmsUp: a reply.
      reply(w, ctx, channel, phone, str(x.content) ?? "", chinaTime(x.send_time) ?? ctx.clock(), str(x.sequence_id) ?? x.send_time);
      return;
    }
    const bizId = str(x.biz_id);
    if (!bizId) throw new BadInput(`item ${i} has no biz_id`);
    const success = x.success === true || x.success === "true";
    if (!success && x.success !== false && x.success !== "false") throw new BadInput(`item ${i} has no boolean success`);
    const at = chinaTime(x.report_time);
    if (at === undefined) throw new BadInput(`item ${i} has no report_time (yyyy-MM-dd HH:mm:ss)`);
    w.receipts.push(pushedReceipt(channel, bizId, phone, at, success ? null : (str(x.err_code) ?? "failed")));
  });
  return w;
}

function tencentItems(body: unknown, ctx: Parameters<CallbackHandler>[3], channel: string): CallbackWrites {
  const items = Array.isArray(body) ? body : isObject(body) ? [body] : undefined;
  if (!items) throw new BadInput("expected a JSON array of reports or a reply object");
  const w = emptyWrites();
  items.forEach((item, i) => {
    const { item: x, phone } = pushItem(item, i, "mobile");
    if ("text" in x && !("report_status" in x)) {
      const t = Number(x.time);
      reply(w, ctx, channel, phone, str(x.text) ?? "", Number.isFinite(t) && t > 0 ? t * 1000 : ctx.clock(), str(x.time) ?? "");
      return;
    }
    const sid = str(x.sid);
    if (!sid) throw new BadInput(`item ${i} has no sid`);
    const status = str(x.report_status);
    if (status !== "SUCCESS" && status !== "FAIL") throw new BadInput(`item ${i} has report_status ${JSON.stringify(x.report_status)} (SUCCESS or FAIL)`);
    const at = chinaTime(x.user_receive_time);
    if (at === undefined) throw new BadInput(`item ${i} has no user_receive_time (yyyy-MM-dd HH:mm:ss)`);
    w.receipts.push(pushedReceipt(channel, sid, phone, at, status === "SUCCESS" ? null : str(x.errmsg) || "FAIL"));
  });
  return w;
}

function smsHandler(answer: Answer, parse: typeof aliyunItems): CallbackHandler {
  return async (req, reply: FastifyReply, channel, ctx) => {
    if (req.method !== "POST") return reply.code(405).send(answer.error("POST only"));
    let w: CallbackWrites;
    try {
      w = parse(req.body, ctx, channel.name);
    } catch (e) {
      if (e instanceof BadInput) return reply.code(400).send(answer.error(e.message));
      throw e;
    }
    const r = await commitWrites(ctx, w);
    const t = tally(r.outcomes);
    if (w.receipts.length && t.unknown === w.receipts.length && !w.suppressions.length) {
      req.log.warn({ channel: channel.name, unknown: t.unknown }, "receipts for no known send");
      return reply
        .code(404)
        .send(answer.error(`no send of channel ${channel.name} matches ${t.unknown === 1 ? "this receipt" : `these ${t.unknown} receipts`}`));
    }
    if (t.unknown)
      req.log.warn(
        { channel: channel.name, unknown: t.unknown, first: maskPhone(w.receipts[r.outcomes.indexOf("unknown")]!.address ?? "") },
        "receipts for no known send, skipped",
      );
    req.log.info({ channel: channel.name, ...t, suppressed: r.suppressed }, "callback");
    return reply.code(200).send(answer.ok);
  };
}

export const aliyunCallback = smsHandler(ALIYUN, aliyunItems);
export const tencentCallback = smsHandler(TENCENT, tencentItems);
