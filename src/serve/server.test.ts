/**
 * The server's routes in process (Fastify's inject), against a real SQLite ledger in a temp dir: each provider's
 * push format, signatures and safe mode, and what is written or refused. The built CLI is tested end to end in
 * test/e2e/serve.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { SqliteLedger } from "../dispatch/ledger.js";
import { parseProject } from "../project/index.js";
import type { Project } from "../project/types.js";
import { createServeContext } from "./context.js";
import { buildServer } from "./server.js";
import { sha1Signature, wxEncrypt } from "./wx-crypto.js";
import { testSend } from "../../test/fixtures/sends.js";

const YAML = `
timezone: Asia/Shanghai
members:
  key: member_id
  fields: { member_id: string, mobile: phone, openid: string, mp_openid: string, ext: string, owner: string }
channels:
  oa:
    driver: wechat-template
    address: openid
    env: { app_id: OA_APP_ID, app_secret: OA_SECRET, callback_token: OA_TOKEN, encoding_aes_key: OA_AES }
  mp:
    driver: wechat-subscribe
    address: mp_openid
    env: { app_id: MP_APP_ID, app_secret: MP_SECRET, callback_token: MP_TOKEN, encoding_aes_key: MP_AES }
  wecom:
    driver: wecom
    address: ext
    sender: owner
    env: { corp_id: CORP_ID, secret: WECOM_SECRET, callback_token: WECOM_TOKEN, encoding_aes_key: WECOM_AES }
  tsms:
    driver: tencent-sms
    address: mobile
    env: { secret_id: TC_ID, secret_key: TC_KEY, callback_token: TSMS_TOKEN }
  asms:
    driver: aliyun-sms
    address: mobile
    env: { access_key_id: AK, access_key_secret: SK }
`;
const ENV = {
  OA_APP_ID: "wx_oa_app",
  OA_TOKEN: "oatoken",
  OA_AES: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
  MP_APP_ID: "wx_mp_app",
  MP_TOKEN: "mptoken",
  MP_AES: "Zyxwvutsrqponmlkjihgfedcba9876543210ZYXWVUT",
  CORP_ID: "ww_corp",
  WECOM_TOKEN: "wecomtoken",
  WECOM_AES: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
  TSMS_TOKEN: "tsmstoken",
};
const NOW = Date.parse("2026-12-24T10:30:00+08:00");

let dir: string;
let ledger: SqliteLedger;
let app: FastifyInstance;

function project(extra = ""): Project {
  const r = parseProject(YAML + extra, path.join(dir, "chuda.yaml"), dir);
  if (!r.project) throw new Error(JSON.stringify(r.diagnostics.map((d) => d.message)));
  return r.project;
}

async function start(extra = ""): Promise<void> {
  const ctx = createServeContext({ project: project(extra), root: dir, ledger, clock: () => NOW, env: ENV, logger: pino({ level: "silent" }) });
  app = await buildServer(ctx);
}

/** A send the provider accepted with this id. */
async function sent(member: string, channel: string, address: string, providerId: string | null, state: "sent" | "in_flight" = "sent"): Promise<string> {
  const key = `c|2026-12-24T10:00:00+08:00|${member}|${channel}`;
  await ledger.insertSends([testSend({ occurrence: "2026-12-24T10:00:00+08:00", member, channel, send_at: NOW, address })]);
  if (state === "in_flight") ledger.db.prepare(`UPDATE sends SET state = 'in_flight' WHERE key = ?`).run(key);
  else await ledger.finish([{ key, state: "sent", provider_id: providerId }], NOW);
  return key;
}

const row = (key: string) => ledger.db.prepare(`SELECT state, delivered_at, delivery_code FROM sends WHERE key = ?`).get(key);
const receipts = () => (ledger.db.prepare(`SELECT COUNT(*) AS n FROM receipts`).get() as { n: number }).n;
const suppressions = () => ledger.db.prepare(`SELECT channel, address, source, removed_at IS NOT NULL AS removed FROM suppressions ORDER BY id`).all();

const xml = (f: Record<string, string | number>) =>
  `<xml>${Object.entries(f)
    .map(([k, v]) => (typeof v === "number" ? `<${k}>${v}</${k}>` : `<${k}><![CDATA[${v}]]></${k}>`))
    .join("")}</xml>`;
const plainQuery = (token: string) => `signature=${sha1Signature(token, "1700000000", "7")}&timestamp=1700000000&nonce=7`;
function safe(token: string, key: string, receiver: string, message: string) {
  const enc = wxEncrypt(key, message, receiver);
  return {
    query: `timestamp=1700000000&nonce=7&encrypt_type=aes&msg_signature=${sha1Signature(token, "1700000000", "7", enc)}`,
    body: xml({ ToUserName: receiver, Encrypt: enc }),
  };
}
const post = (url: string, payload: string, type = "text/xml") => app.inject({ method: "POST", url, payload, headers: { "content-type": type } });

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "chuda-serve-"));
  ledger = new SqliteLedger(path.join(dir, ".chuda/state.db"));
});
afterEach(async () => {
  await app?.close();
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("WeChat official account", () => {
  it("answers the URL verification GET with echostr, and refuses a bad signature", async () => {
    await start();
    const ok = await app.inject({ method: "GET", url: `/callbacks/oa/oatoken?${plainQuery("oatoken")}&echostr=abc123` });
    expect([ok.statusCode, ok.body]).toEqual([200, "abc123"]);
    const bad = await app.inject({ method: "GET", url: `/callbacks/oa/oatoken?${plainQuery("other")}&echostr=abc123` });
    expect(bad.statusCode).toBe(401);
  });

  it("records TEMPLATESENDJOBFINISH in plain mode: success, failed:user block (a suppression), failed: system failed", async () => {
    await start();
    const a = await sent("M1", "oa", "o_1", "1001");
    const b = await sent("M2", "oa", "o_2", "1002");
    const c = await sent("M3", "oa", "o_3", "1003");
    const ev = (openid: string, id: string, status: string) =>
      xml({ ToUserName: "gh", FromUserName: openid, CreateTime: 1766543500, MsgType: "event", Event: "TEMPLATESENDJOBFINISH", MsgID: id, Status: status });
    for (const [o, id, s] of [
      ["o_1", "1001", "success"],
      ["o_2", "1002", "failed:user block"],
      ["o_3", "1003", "failed: system failed"],
    ] as const) {
      const r = await post(`/callbacks/oa/oatoken?${plainQuery("oatoken")}`, ev(o, id, s));
      expect([r.statusCode, r.body]).toEqual([200, "success"]);
    }
    expect(row(a)).toEqual({ state: "sent", delivered_at: 1766543500000, delivery_code: null });
    expect(row(b)).toMatchObject({ delivered_at: null, delivery_code: "failed:user block" });
    expect(row(c)).toMatchObject({ delivered_at: null, delivery_code: "failed: system failed" });
    expect(suppressions()).toEqual([{ channel: "oa", address: "o_2", source: "wechat-user-block", removed: 0 }]);
  });

  it("decrypts safe mode, and refuses a bad msg_signature or another account's message with nothing written", async () => {
    await start();
    const a = await sent("M1", "oa", "o_1", "2001");
    const msg = xml({
      ToUserName: "gh",
      FromUserName: "o_1",
      CreateTime: 1766543500,
      MsgType: "event",
      Event: "TEMPLATESENDJOBFINISH",
      MsgID: "2001",
      Status: "success",
    });
    const wrongSig = safe("notthetoken", ENV.OA_AES, ENV.OA_APP_ID, msg);
    expect((await post(`/callbacks/oa/oatoken?${wrongSig.query}`, wrongSig.body)).statusCode).toBe(401);
    const otherApp = safe("oatoken", ENV.OA_AES, "wx_someone_else", msg);
    expect((await post(`/callbacks/oa/oatoken?${otherApp.query}`, otherApp.body)).statusCode).toBe(401);
    expect(receipts()).toBe(0);
    const good = safe("oatoken", ENV.OA_AES, ENV.OA_APP_ID, msg);
    const r = await post(`/callbacks/oa/oatoken?${good.query}`, good.body);
    expect([r.statusCode, r.body]).toEqual([200, "success"]);
    expect(row(a)).toMatchObject({ delivered_at: 1766543500000 });
  });

  it("suppresses on unsubscribe and lifts it when the member follows again", async () => {
    await start();
    const ev = (e: string, t: number) => xml({ ToUserName: "gh", FromUserName: "o_9", CreateTime: t, MsgType: "event", Event: e });
    expect((await post(`/callbacks/oa/oatoken?${plainQuery("oatoken")}`, ev("unsubscribe", 1766543500))).statusCode).toBe(200);
    expect((await post(`/callbacks/oa/oatoken?${plainQuery("oatoken")}`, ev("unsubscribe", 1766543500))).statusCode).toBe(200);
    expect(suppressions()).toEqual([{ channel: "oa", address: "o_9", source: "wechat-unsubscribe", removed: 0 }]);
    await post(`/callbacks/oa/oatoken?${plainQuery("oatoken")}`, ev("subscribe", 1766543600));
    expect(suppressions()).toEqual([{ channel: "oa", address: "o_9", source: "wechat-unsubscribe", removed: 1 }]);
  });

  it("refuses malformed XML and a plain push without a valid signature", async () => {
    await start();
    await sent("M1", "oa", "o_1", "3001");
    expect((await post(`/callbacks/oa/oatoken?${plainQuery("oatoken")}`, "<xml><MsgID>3001</xml>")).statusCode).toBe(400);
    expect(
      (await post(`/callbacks/oa/oatoken`, xml({ FromUserName: "o_1", Event: "TEMPLATESENDJOBFINISH", MsgID: "3001", Status: "success" }))).statusCode,
    ).toBe(401);
    expect(receipts()).toBe(0);
  });
});

describe("mini-program subscribe messages", () => {
  it("reads List as one object or an array, in JSON and XML: rejects suppress, accepts lift, sent events are receipts", async () => {
    await start();
    const a = await sent("M1", "mp", "mp_1", "5001");
    const b = await sent("M2", "mp", "mp_2", "5002");
    const q = `/callbacks/mp/mptoken?${plainQuery("mptoken")}`;
    const popupOne = {
      ToUserName: "gh",
      FromUserName: "mp_7",
      CreateTime: 1766543500,
      MsgType: "event",
      Event: "subscribe_msg_popup_event",
      List: { TemplateId: "T1", SubscribeStatusString: "reject", PopupScene: "0" },
    };
    expect((await post(q, JSON.stringify(popupOne), "application/json")).statusCode).toBe(200);
    const sentMany = {
      ToUserName: "gh",
      FromUserName: "mp_1",
      CreateTime: 1766543600,
      MsgType: "event",
      Event: "subscribe_msg_sent_event",
      List: [
        { TemplateId: "T1", MsgID: "5001", ErrorCode: "0", ErrorStatus: "success" },
        { TemplateId: "T1", MsgID: "5002", ErrorCode: "20004", ErrorStatus: "fail" },
      ],
    };
    expect((await post(q, JSON.stringify(sentMany), "application/json")).statusCode).toBe(200);
    expect(row(a)).toMatchObject({ delivered_at: 1766543600000, delivery_code: null });
    expect(row(b)).toMatchObject({ delivered_at: null, delivery_code: "20004" });
    const acceptXml = `<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[mp_7]]></FromUserName><CreateTime>1766543700</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe_msg_change_event]]></Event><SubscribeMsgChangeEvent><List><TemplateId><![CDATA[T1]]></TemplateId><SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString></List></SubscribeMsgChangeEvent></xml>`;
    expect((await post(q, acceptXml)).statusCode).toBe(200);
    expect(suppressions()).toEqual([{ channel: "mp", address: "mp_7", source: "miniprogram-reject", removed: 1 }]);
  });
});

describe("mini-program subscribe messages in safe mode (encrypted)", () => {
  /** A JSON push in safe mode: `{ToUserName, Encrypt}` signed by msg_signature, as the mini-program sends with JSON data format. */
  function safeJson(message: Record<string, unknown>, receiver = ENV.MP_APP_ID, token = "mptoken") {
    const enc = wxEncrypt(ENV.MP_AES, JSON.stringify(message), receiver);
    return {
      url: `/callbacks/mp/mptoken?timestamp=1700000000&nonce=7&encrypt_type=aes&msg_signature=${sha1Signature(token, "1700000000", "7", enc)}`,
      body: JSON.stringify({ ToUserName: "gh_mp", Encrypt: enc }),
    };
  }
  const event = (openid: string, name: string, list: unknown, t = 1766543500) => ({
    ToUserName: "gh_mp",
    FromUserName: openid,
    CreateTime: t,
    MsgType: "event",
    Event: name,
    List: list,
  });

  it("JSON: List as one object and as an array, for popup, change and sent events", async () => {
    await start();
    const a = await sent("M1", "mp", "mp_1", "6001");
    const b = await sent("M2", "mp", "mp_2", "6002");
    const c = await sent("M3", "mp", "mp_3", "6003");
    // One object: a refusal in the popup.
    const one = safeJson(event("mp_7", "subscribe_msg_popup_event", { TemplateId: "T1", SubscribeStatusString: "reject", PopupScene: "0" }));
    expect((await post(one.url, one.body, "application/json")).statusCode).toBe(200);
    expect(suppressions()).toEqual([{ channel: "mp", address: "mp_7", source: "miniprogram-reject", removed: 0 }]);
    // An array: the results of two sends in one push; then one object for another member's send.
    const many = safeJson(
      event("mp_1", "subscribe_msg_sent_event", [
        { TemplateId: "T1", MsgID: "6001", ErrorCode: "0", ErrorStatus: "success" },
        { TemplateId: "T2", MsgID: "6002", ErrorCode: "20004", ErrorStatus: "fail" },
      ]),
    );
    const r = await post(many.url, many.body, "application/json");
    expect([r.statusCode, r.body]).toEqual([200, "success"]);
    const single = safeJson(event("mp_3", "subscribe_msg_sent_event", { TemplateId: "T1", MsgID: "6003", ErrorCode: "0", ErrorStatus: "success" }, 1766543600));
    expect((await post(single.url, single.body, "application/json")).statusCode).toBe(200);
    expect(row(a)).toMatchObject({ delivered_at: 1766543500000, delivery_code: null });
    expect(row(b)).toMatchObject({ delivered_at: null, delivery_code: "20004" });
    expect(row(c)).toMatchObject({ delivered_at: 1766543600000 });
    // An array in a change event: one template switched off, another on. Suppression is per channel and consent per
    // template, so an acceptance in the event lifts the channel's refusals, the one made by the same event included.
    const change = safeJson(
      event(
        "mp_7",
        "subscribe_msg_change_event",
        [
          { TemplateId: "T2", SubscribeStatusString: "reject" },
          { TemplateId: "T1", SubscribeStatusString: "accept" },
        ],
        1766543700,
      ),
    );
    expect((await post(change.url, change.body, "application/json")).statusCode).toBe(200);
    expect(suppressions()).toEqual([
      { channel: "mp", address: "mp_7", source: "miniprogram-reject", removed: 1 },
      { channel: "mp", address: "mp_7", source: "miniprogram-reject", removed: 1 },
    ]);
  });

  it("XML: one List element and several, inside the event element", async () => {
    await start();
    const a = await sent("M1", "mp", "mp_1", "7001");
    const b = await sent("M2", "mp", "mp_2", "7002");
    const head = `<ToUserName><![CDATA[gh_mp]]></ToUserName><FromUserName><![CDATA[mp_1]]></FromUserName><CreateTime>1766543500</CreateTime><MsgType><![CDATA[event]]></MsgType>`;
    const item = (id: string, code: string) =>
      `<List><TemplateId><![CDATA[T1]]></TemplateId><MsgID>${id}</MsgID><ErrorCode>${code}</ErrorCode><ErrorStatus><![CDATA[${code === "0" ? "success" : "fail"}]]></ErrorStatus></List>`;
    const several = `<xml>${head}<Event><![CDATA[subscribe_msg_sent_event]]></Event><SubscribeMsgSentEvent>${item("7001", "0")}${item("7002", "20004")}</SubscribeMsgSentEvent></xml>`;
    const s1 = safe("mptoken", ENV.MP_AES, ENV.MP_APP_ID, several);
    expect((await post(`/callbacks/mp/mptoken?${s1.query}`, s1.body)).statusCode).toBe(200);
    expect(row(a)).toMatchObject({ delivered_at: 1766543500000 });
    expect(row(b)).toMatchObject({ delivery_code: "20004" });
    const popup = `<xml>${head.replace("mp_1", "mp_8")}<Event><![CDATA[subscribe_msg_popup_event]]></Event><SubscribeMsgPopupEvent><List><TemplateId><![CDATA[T1]]></TemplateId><SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString><PopupScene>2</PopupScene></List></SubscribeMsgPopupEvent></xml>`;
    const s2 = safe("mptoken", ENV.MP_AES, ENV.MP_APP_ID, popup);
    expect((await post(`/callbacks/mp/mptoken?${s2.query}`, s2.body)).statusCode).toBe(200);
    expect(suppressions()).toEqual([{ channel: "mp", address: "mp_8", source: "miniprogram-reject", removed: 0 }]);
  });

  it("refuses a bad msg_signature, another mini-program's message and an undecryptable body, with nothing written", async () => {
    await start();
    await sent("M1", "mp", "mp_1", "8001");
    const msg = event("mp_1", "subscribe_msg_sent_event", { TemplateId: "T1", MsgID: "8001", ErrorCode: "0", ErrorStatus: "success" });
    const wrongToken = safeJson(msg, ENV.MP_APP_ID, "not-the-token");
    expect((await post(wrongToken.url, wrongToken.body, "application/json")).statusCode).toBe(401);
    const otherApp = safeJson(msg, "wx_other_app");
    expect((await post(otherApp.url, otherApp.body, "application/json")).statusCode).toBe(401);
    const garbage = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=";
    const q = `timestamp=1700000000&nonce=7&encrypt_type=aes&msg_signature=${sha1Signature("mptoken", "1700000000", "7", garbage)}`;
    expect((await post(`/callbacks/mp/mptoken?${q}`, JSON.stringify({ ToUserName: "gh_mp", Encrypt: garbage }), "application/json")).statusCode).toBe(400);
    expect(receipts()).toBe(0);
    expect(suppressions()).toEqual([]);
  });
});

describe("WeCom", () => {
  it("verifies the URL with the encrypted echostr and suppresses a deleted contact", async () => {
    await start();
    const echo = wxEncrypt(ENV.WECOM_AES, "echo-42", ENV.CORP_ID);
    const g = await app.inject({
      method: "GET",
      url: `/callbacks/wecom/wecomtoken?msg_signature=${sha1Signature("wecomtoken", "1700000000", "7", echo)}&timestamp=1700000000&nonce=7&echostr=${encodeURIComponent(echo)}`,
    });
    expect([g.statusCode, g.body]).toEqual([200, "echo-42"]);
    const msg = xml({
      ToUserName: ENV.CORP_ID,
      FromUserName: "sys",
      CreateTime: 1766543500,
      MsgType: "event",
      Event: "change_external_contact",
      ChangeType: "del_follow_user",
      UserID: "staff_a",
      ExternalUserID: "wm_1",
    });
    const s = safe("wecomtoken", ENV.WECOM_AES, ENV.CORP_ID, msg);
    const r = await post(`/callbacks/wecom/wecomtoken?${s.query}`, s.body);
    expect(r.statusCode).toBe(200);
    expect(suppressions()).toEqual([{ channel: "wecom", address: "wm_1", source: "wecom-deleted", removed: 0 }]);
    const bad = safe("wecomtoken", ENV.WECOM_AES, "ww_other", msg);
    expect((await post(`/callbacks/wecom/wecomtoken?${bad.query}`, bad.body)).statusCode).toBe(401);
  });

  it("a task result 'not a contact' (status 2) suppresses the customer; adding them as a contact again lifts it", async () => {
    await start();
    const key = await sent("M1", "wecom", "wm_2", "msgA");
    await ledger.recordReceipts([{ channel: "wecom", providerId: "msgA", address: "wm_2", state: "failed", code: "status_2", at: NOW, source: "pull" }], NOW);
    expect(row(key)).toMatchObject({ delivery_code: "status_2" });
    expect(suppressions()).toEqual([{ channel: "wecom", address: "wm_2", source: "send-error", removed: 0 }]);
    const msg = xml({
      ToUserName: ENV.CORP_ID,
      FromUserName: "sys",
      CreateTime: 1766543600,
      MsgType: "event",
      Event: "change_external_contact",
      ChangeType: "add_external_contact",
      UserID: "staff_a",
      ExternalUserID: "wm_2",
    });
    const s = safe("wecomtoken", ENV.WECOM_AES, ENV.CORP_ID, msg);
    expect((await post(`/callbacks/wecom/wecomtoken?${s.query}`, s.body)).statusCode).toBe(200);
    expect(suppressions()).toEqual([{ channel: "wecom", address: "wm_2", source: "send-error", removed: 1 }]);
  });
});

describe("Tencent SMS", () => {
  it("records status reports, answers {result:0}, keeps a receipt that came before the send's result and applies it then", async () => {
    await start();
    const a = await sent("M1", "tsms", "+8613900000001", "sid-1");
    const early = await sent("M2", "tsms", "13900000002", null, "in_flight");
    const report = (sid: string, mobile: string, ok: boolean) => ({
      user_receive_time: "2026-12-24 10:31:00",
      nationcode: "86",
      mobile,
      report_status: ok ? "SUCCESS" : "FAIL",
      errmsg: ok ? "DELIVRD" : "MK:0005",
      description: "",
      sid,
    });
    const r = await post(
      "/callbacks/tsms/tsmstoken",
      JSON.stringify([report("sid-1", "13900000001", true), report("sid-2", "13900000002", false)]),
      "application/json",
    );
    expect([r.statusCode, r.json()]).toEqual([200, { result: 0, errmsg: "OK" }]);
    expect(row(a)).toMatchObject({ delivered_at: Date.parse("2026-12-24T10:31:00+08:00") });
    expect(row(early)).toMatchObject({ state: "in_flight", delivery_code: null });
    // The dispatch run commits the send's result: the receipt waiting for it applies in the same transaction.
    await ledger.finish([{ key: early, state: "sent", provider_id: "sid-2" }], NOW);
    expect(row(early)).toMatchObject({ state: "sent", delivery_code: "MK:0005" });
  });

  it("turns a reply of an opt-out word into a suppression of every SMS channel (or all channels with opt_out_scope: all)", async () => {
    await start();
    const reply = { extend: "", mobile: "13900000003", nationcode: "86", sign: "x", text: " td ", time: 1766543500 };
    expect((await post("/callbacks/tsms/tsmstoken", JSON.stringify(reply), "application/json")).json()).toEqual({ result: 0, errmsg: "OK" });
    await post("/callbacks/tsms/tsmstoken", JSON.stringify({ ...reply, text: "T恤有吗", time: 1766543600 }), "application/json");
    expect(suppressions()).toEqual([
      { channel: "tsms", address: "13900000003", source: "sms-reply", removed: 0 },
      { channel: "asms", address: "13900000003", source: "sms-reply", removed: 0 },
    ]);
    await app.close();
    await start("serve: { opt_out_scope: all, opt_out_words: [STOP] }\n");
    await post("/callbacks/tsms/tsmstoken", JSON.stringify({ ...reply, text: "stop", mobile: "13900000004" }), "application/json");
    await post("/callbacks/tsms/tsmstoken", JSON.stringify({ ...reply, text: "TD", mobile: "13900000005" }), "application/json");
    expect(suppressions().slice(2)).toEqual([{ channel: "*", address: "13900000004", source: "sms-reply", removed: 0 }]);
  });
});

describe("what the server refuses", () => {
  it("a channel without a callback token, a driver that takes no callbacks, an unknown route, and a source outside allow_from", async () => {
    await start();
    expect((await post("/callbacks/asms/anything", "[]", "application/json")).json().error).toMatch(/takes no callbacks/);
    expect((await app.inject({ method: "GET", url: "/nope" })).statusCode).toBe(404);
    await app.close();
    await start("serve: { allow_from: [203.0.113.0/24] }\n");
    const r = await post("/callbacks/tsms/tsmstoken", "[]", "application/json");
    expect([r.statusCode, r.json().error]).toEqual([403, "this address may not push callbacks (serve.allow_from)"]);
  });

  it("allow_from admits its block", async () => {
    await start("serve: { allow_from: [127.0.0.0/8] }\n");
    const r = await post("/callbacks/tsms/tsmstoken", "[]", "application/json");
    expect(r.statusCode).toBe(200);
  });
});
