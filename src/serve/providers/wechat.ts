/**
 * WeChat pushes: the official account's server URL (template-message results, unsubscribes) and the
 * mini-program's message push (subscribe-message consent and results), and WeCom's callback (external contacts).
 *
 * Verification. WeChat signs every request with the channel's Token (here: the callback token):
 * `signature = sha1(sort(token, timestamp, nonce))`; a GET with `echostr` checks the URL and gets `echostr` back.
 * In safe mode (`encrypt_type=aes`) the body is `<xml><Encrypt>…</Encrypt></xml>` (or JSON `{"Encrypt": …}`), signed
 * by `msg_signature = sha1(sort(token, timestamp, nonce, Encrypt))` and decrypted with the channel's EncodingAESKey
 * (src/serve/wx-crypto.ts). WeCom always encrypts, and its GET echostr is encrypted too. A bad signature: 401,
 * nothing written.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ChannelConfig } from "../../project/types.js";
import { channelSecret, type ServeContext } from "../context.js";
import { sameSignature, sha1Signature, wxDecrypt, WxCryptoError } from "../wx-crypto.js";
import { parseXml, xmlList, XmlError, type XmlNode, type XmlValue } from "../xml.js";
import { commitWrites, emptyWrites, isObject, pushedReceipt, tally, type CallbackHandler, type CallbackWrites } from "./common.js";

class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Query = Record<string, string | undefined>;

/** A pushed message as fields: from XML (text nodes) or JSON (values kept as they are). */
type Fields = Record<string, unknown>;

function parseBody(body: unknown): Fields {
  if (typeof body === "string") {
    const t = body.trim();
    if (!t) throw new Refused(400, "the body is empty");
    if (t.startsWith("{")) {
      try {
        const j = JSON.parse(t) as unknown;
        if (isObject(j)) return j;
      } catch {
        /* reported below */
      }
      throw new Refused(400, "the body is not valid JSON");
    }
    try {
      return parseXml(t);
    } catch (e) {
      if (e instanceof XmlError) throw new Refused(400, `the body is not valid XML: ${e.message}`);
      throw e;
    }
  }
  if (isObject(body)) return body;
  throw new Refused(400, "expected an XML or JSON body");
}

const text = (f: Fields, k: string): string => {
  const v = f[k];
  return typeof v === "string" ? v.trim() : typeof v === "number" ? String(v) : "";
};

function token(ctx: ServeContext, ch: ChannelConfig): string {
  return channelSecret(ctx, ch.name, "callback_token")!;
}

function aesKey(ctx: ServeContext, ch: ChannelConfig): string {
  const k = channelSecret(ctx, ch.name, "encoding_aes_key");
  if (!k) throw new Refused(400, `channel ${ch.name} receives encrypted pushes but names no \`encoding_aes_key\` in its env`);
  return k;
}

/** Decrypts an Encrypt value whose msg_signature checked out, and checks the receiver id when the channel knows it. */
function decrypt(ctx: ServeContext, ch: ChannelConfig, q: Query, encrypted: string, receiverEnv: string): string {
  const sig = sha1Signature(token(ctx, ch), q.timestamp ?? "", q.nonce ?? "", encrypted);
  if (!sameSignature(q.msg_signature, sig)) throw new Refused(401, "bad msg_signature");
  try {
    const { message, receiverId } = wxDecrypt(aesKey(ctx, ch), encrypted);
    const expected = channelSecret(ctx, ch.name, receiverEnv);
    if (expected && receiverId !== expected) throw new Refused(401, "the encrypted message is for another account");
    return message;
  } catch (e) {
    if (e instanceof WxCryptoError) throw new Refused(400, e.message);
    throw e;
  }
}

/** The fields of a POSTed message: verified, decrypted in safe mode. */
function wechatMessage(req: FastifyRequest, ctx: ServeContext, ch: ChannelConfig): Fields {
  const q = req.query as Query;
  const outer = parseBody(req.body);
  if (q.encrypt_type === "aes" || (q.msg_signature && text(outer, "Encrypt"))) {
    const enc = text(outer, "Encrypt");
    if (!enc) throw new Refused(400, "safe mode without an Encrypt field");
    return parseBody(decrypt(ctx, ch, q, enc, "app_id"));
  }
  const sig = sha1Signature(token(ctx, ch), q.timestamp ?? "", q.nonce ?? "");
  if (!sameSignature(q.signature, sig)) throw new Refused(401, "bad signature");
  return outer;
}

/** `List` of a mini-program event: an object for one item, an array for several, inside its event element or not. */
function eventList(f: Fields, container: string): Fields[] {
  const holder = f[container];
  const raw = (isObject(holder) ? holder.List : undefined) ?? f.List;
  if (raw === undefined) return [];
  if (Array.isArray(raw)) return raw.filter(isObject) as Fields[];
  if (isObject(raw)) return [raw];
  return xmlList(raw as XmlValue) as XmlNode[];
}

const createdAt = (f: Fields, ctx: ServeContext): number => {
  const t = Number(text(f, "CreateTime"));
  return Number.isFinite(t) && t > 0 ? t * 1000 : ctx.clock();
};

/** The writes an official-account or mini-program event makes. */
export function wechatEventWrites(f: Fields, ch: ChannelConfig, ctx: ServeContext): CallbackWrites {
  const w = emptyWrites();
  const openid = text(f, "FromUserName");
  const at = createdAt(f, ctx);
  const event = text(f, "Event");
  const base = { channel: ch.name, address: openid, via: ch.name, actor: "serve", at };
  switch (event) {
    case "TEMPLATESENDJOBFINISH": {
      const msgId = text(f, "MsgID") || text(f, "MsgId");
      const status = text(f, "Status");
      if (!msgId) throw new Refused(400, "TEMPLATESENDJOBFINISH without MsgID");
      w.receipts.push(pushedReceipt(ch.name, msgId, openid, at, status === "success" ? null : status || "failed"));
      if (status === "failed:user block")
        w.suppressions.push({
          ...base,
          source: "wechat-user-block",
          reason: "refused the account's template messages (failed:user block)",
          dedupe: `wechat-user-block|${ch.name}|${openid}|${msgId}`,
        });
      break;
    }
    case "unsubscribe":
      w.suppressions.push({
        ...base,
        source: "wechat-unsubscribe",
        reason: "unfollowed the official account",
        dedupe: `wechat-unsubscribe|${ch.name}|${openid}|${at}`,
      });
      break;
    case "subscribe":
      w.lifts.push({ channel: ch.name, address: openid, sources: ["wechat-unsubscribe", "send-error"], reason: "followed the official account again" });
      break;
    case "subscribe_msg_popup_event":
    case "subscribe_msg_change_event": {
      const container = event === "subscribe_msg_popup_event" ? "SubscribeMsgPopupEvent" : "SubscribeMsgChangeEvent";
      for (const it of eventList(f, container)) {
        const tpl = text(it, "TemplateId");
        const choice = text(it, "SubscribeStatusString");
        if (choice === "reject")
          w.suppressions.push({
            ...base,
            source: "miniprogram-reject",
            reason: `refused subscribe messages of template ${tpl}`,
            dedupe: `miniprogram-reject|${ch.name}|${openid}|${tpl}|${at}`,
          });
        else if (choice === "accept")
          w.lifts.push({
            channel: ch.name,
            address: openid,
            sources: ["miniprogram-reject", "send-error"],
            reason: `accepted subscribe messages of template ${tpl}`,
          });
      }
      break;
    }
    case "subscribe_msg_sent_event":
      for (const it of eventList(f, "SubscribeMsgSentEvent")) {
        const msgId = text(it, "MsgID");
        if (!msgId) throw new Refused(400, "subscribe_msg_sent_event without MsgID");
        const code = text(it, "ErrorCode");
        w.receipts.push(pushedReceipt(ch.name, msgId, openid, at, code === "0" ? null : code || "failed"));
      }
      break;
  }
  return w;
}

/** WeCom: a customer gone (a staff member deleted them, or they deleted the staff member) suppresses the channel. */
export function wecomEventWrites(f: Fields, ch: ChannelConfig, ctx: ServeContext): CallbackWrites {
  const w = emptyWrites();
  if (text(f, "Event") !== "change_external_contact") return w;
  const change = text(f, "ChangeType");
  const ext = text(f, "ExternalUserID");
  const staff = text(f, "UserID");
  const at = createdAt(f, ctx);
  if (!ext) return w;
  if (change === "del_external_contact" || change === "del_follow_user")
    w.suppressions.push({
      channel: ch.name,
      address: ext,
      via: ch.name,
      source: "wecom-deleted",
      reason: change === "del_follow_user" ? `the customer deleted staff member ${staff}` : `staff member ${staff} deleted the customer`,
      actor: "serve",
      at,
      dedupe: `wecom-deleted|${ch.name}|${ext}|${staff}|${change}|${at}`,
    });
  else if (change === "add_external_contact")
    // Also what a task result "not a contact" (status 2, recorded as a send error) suppressed.
    w.lifts.push({ channel: ch.name, address: ext, sources: ["wecom-deleted", "send-error"], reason: `added as a contact by ${staff} again` });
  return w;
}

async function answer(req: FastifyRequest, reply: FastifyReply, ctx: ServeContext, ch: ChannelConfig, writes: CallbackWrites, body: string): Promise<unknown> {
  const r = await commitWrites(ctx, writes);
  const t = tally(r.outcomes);
  if (writes.receipts.length && t.unknown === writes.receipts.length && !writes.suppressions.length && !writes.lifts.length) {
    req.log.warn({ channel: ch.name, unknown: t.unknown }, "receipts for no known send");
    return reply.code(404).type("text/plain").send(`no send of channel ${ch.name} has this message id`);
  }
  req.log.info({ channel: ch.name, ...t, suppressed: r.suppressed, lifted: r.lifted }, "callback");
  return reply.code(200).type("text/plain").send(body);
}

function refusal(reply: FastifyReply, e: unknown): unknown {
  if (e instanceof Refused) return reply.code(e.status).type("text/plain").send(e.message);
  throw e;
}

export const wechatCallback: CallbackHandler = async (req, reply, ch, ctx) => {
  const q = req.query as Query;
  try {
    if (req.method === "GET") {
      const sig = sha1Signature(token(ctx, ch), q.timestamp ?? "", q.nonce ?? "");
      if (!sameSignature(q.signature, sig)) throw new Refused(401, "bad signature");
      return reply.type("text/plain").send(q.echostr ?? "");
    }
    const f = wechatMessage(req, ctx, ch);
    return await answer(req, reply, ctx, ch, wechatEventWrites(f, ch, ctx), "success");
  } catch (e) {
    return refusal(reply, e);
  }
};

export const wecomCallback: CallbackHandler = async (req, reply, ch, ctx) => {
  const q = req.query as Query;
  try {
    if (req.method === "GET") return reply.type("text/plain").send(decrypt(ctx, ch, q, q.echostr ?? "", "corp_id"));
    const outer = parseBody(req.body);
    const enc = text(outer, "Encrypt");
    if (!enc) throw new Refused(400, "a WeCom callback without an Encrypt field");
    const f = parseBody(decrypt(ctx, ch, q, enc, "corp_id"));
    return await answer(req, reply, ctx, ch, wecomEventWrites(f, ch, ctx), "");
  } catch (e) {
    return refusal(reply, e);
  }
};
