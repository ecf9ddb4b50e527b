/**
 * `chuda serve` end to end: a real dispatch against the loopback fakes, then the server (the built CLI) receiving
 * what the providers push about those sends — in their formats, batched, duplicated, out of order, retried — and
 * refusing what it must (bad tokens, signatures, bodies) without writing anything.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { dispatch, makeMembers, makeRepo, run, startFakes, status, summaryOf, type Fakes, type TestRepo } from "./dispatch-helpers.js";
import { startServe, type Served } from "./serve-helpers.js";
import { aliyunReply, aliyunReport, httpRequest, PUSH_ATTEMPTS, pushWithRetry, templateFinish, wxPlainQuery, wxSafeMode } from "../fakes/push.js";

const AT = "2026-12-24 10:30";
const TOKEN = "sms_cb_token_0123";

function withCallbackToken(repo: TestRepo, channelEnv: string, varName: string, value: string): void {
  const file = path.join(repo.dir, "chuda.yaml");
  writeFileSync(file, readFileSync(file, "utf8").replace(channelEnv, `${channelEnv}, callback_token: ${varName}`));
  repo.env[varName] = value;
}

function db(repo: TestRepo): Database.Database {
  return new Database(path.join(repo.dir, ".chuda/state.db"), { readonly: true });
}

function count(repo: TestRepo, sql: string): number {
  const d = db(repo);
  try {
    return (d.prepare(sql).get() as { n: number }).n;
  } finally {
    d.close();
  }
}

describe("chuda serve: Aliyun SMS receipts and replies", () => {
  let fakes: Fakes;
  let repo: TestRepo;
  let served: Served;
  let cb: string;

  beforeAll(async () => {
    const members = makeMembers(40, 3, { sms: 1, unsubscribed: 0 });
    fakes = await startFakes(members);
    repo = makeRepo({
      channels: { sms: fakes.channels.sms! },
      campaigns: [{ name: "gift", template: "gift", channels: ["sms"], trigger: "once at 2026-12-24 10:00", with: { coupon: "XMAS50", amount: 50 } }],
      members,
    });
    withCallbackToken(repo, "access_key_secret: ALIYUN_SK", "SMS_CB_TOKEN", TOKEN);
    const r = await dispatch(repo, AT);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(summaryOf(r).sent).toBe(40);
    served = await startServe(repo);
    cb = `${served.url}/callbacks/sms/${TOKEN}`;
  }, 120_000);

  afterAll(async () => {
    await served?.stop();
    await fakes?.close();
  });

  it("answers /healthz", async () => {
    const r = await httpRequest(`${served.url}/healthz`, "GET");
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ ok: true });
  });

  it("refuses bad input with a clear 4xx and writes nothing", async () => {
    const d = fakes.sms.deliveries()[0]!;
    const one = JSON.stringify([aliyunReport(d, true, d.at + 1000)]);
    const cases: [string, string, string | undefined, number, RegExp][] = [
      ["malformed JSON", cb, '[{"phone_number": ', 400, /not valid JSON/],
      ["not an array", cb, '{"phone_number":"1"}', 400, /JSON array/],
      ["a report without biz_id", cb, JSON.stringify([{ phone_number: d.phone, success: true, report_time: "2026-12-24 10:31:00" }]), 400, /biz_id/],
      ["a wrong token", `${served.url}/callbacks/sms/wrong_token_000000`, one, 403, /wrong callback token/],
      ["an unknown channel", `${served.url}/callbacks/nosuch/${TOKEN}`, one, 404, /no channel `nosuch` in chuda.yaml/],
      ["an unknown message", cb, JSON.stringify([aliyunReport({ ...d, bizId: "999999^0" }, true, d.at + 1000)]), 404, /no send of channel sms/],
      ["an oversized body", cb, "[" + " ".repeat(1024 * 1024 + 10) + "]", 413, /larger than/],
    ];
    for (const [what, url, body, code, msg] of cases) {
      const r = await httpRequest(url, "POST", body);
      expect(r.status, what).toBe(code);
      expect(r.body, what).toMatch(msg);
    }
    expect(count(repo, "SELECT COUNT(*) AS n FROM receipts")).toBe(0);
    expect(count(repo, "SELECT COUNT(*) AS n FROM sends WHERE delivery_at IS NOT NULL")).toBe(0);
  });

  it("records each receipt once, keeps the latest final state, and answers in Aliyun's format", async () => {
    const ds = fakes.sms.deliveries();
    const ok = ds.slice(0, 30);
    const bad = ds.slice(30);
    const reports = [...ok.map((d) => aliyunReport(d, true, d.at + 60_000)), ...bad.map((d) => aliyunReport(d, false, d.at + 60_000, "MK:0004"))];
    // Out of order: an older failure of a delivered message arrives after the delivery.
    const stale = aliyunReport(ok[0]!, false, ok[0]!.at + 30_000, "MK:0099");
    const first = await pushWithRetry(cb, JSON.stringify(reports.slice(0, 25)), { attempts: PUSH_ATTEMPTS.aliyun });
    expect(first.statuses).toEqual([200]);
    expect(JSON.parse(first.body)).toEqual({ code: 0, msg: "接收成功" });
    // The same batch again (Aliyun's receipts are not idempotent), the rest, and the stale one.
    expect((await pushWithRetry(cb, JSON.stringify(reports.slice(0, 25)), { attempts: 1 })).statuses).toEqual([200]);
    expect((await pushWithRetry(cb, JSON.stringify([...reports.slice(25), stale]), { attempts: 1 })).statuses).toEqual([200]);
    const s = (await status(repo)) as unknown as { delivery: { delivered: number; failed: number; unconfirmed: number } };
    expect(s.delivery).toEqual({ delivered: 30, failed: 10, unconfirmed: 0 });
    expect(count(repo, "SELECT COUNT(*) AS n FROM receipts")).toBe(41);
    const d = db(repo);
    const row = d.prepare("SELECT delivered_at, delivery_code FROM sends WHERE address = ?").get(ok[0]!.phone) as {
      delivered_at: number;
      delivery_code: string | null;
    };
    d.close();
    expect(row).toEqual({ delivered_at: ok[0]!.at + 60_000 - ((ok[0]!.at + 60_000) % 1000), delivery_code: null });
  });

  it("report fills delivered from the receipts", async () => {
    writeFileSync(path.join(repo.dir, "conversions.csv"), "member_id,kind,code,amount,time\nM000001,visit,,0,2026-12-25 15:00\n");
    const rep = await run(repo, ["report", "--conversions", "conversions.csv", "--json"]);
    expect(rep.exitCode, rep.stderr).toBe(0);
    const c = JSON.parse(rep.stdout).campaigns.find((x: { name: string }) => x.name === "gift");
    expect(c.treated.delivered).toBe(30);
  });

  it("turns an opt-out reply into a suppression of the SMS channels, once", async () => {
    const d = fakes.sms.deliveries()[3]!;
    const body = JSON.stringify([aliyunReply(d.phone, "退订", d.at + 120_000, 7), aliyunReply(fakes.sms.deliveries()[4]!.phone, "谢谢", d.at + 120_000, 8)]);
    expect((await pushWithRetry(cb, body, { attempts: 1 })).statuses).toEqual([200]);
    expect((await pushWithRetry(cb, body, { attempts: 1 })).statuses).toEqual([200]);
    const dbh = db(repo);
    const rows = dbh.prepare("SELECT channel, address, source, actor FROM suppressions").all();
    dbh.close();
    expect(rows).toEqual([{ channel: "sms", address: d.phone, source: "sms-reply", actor: "serve" }]);
  });

  it("suppresses the number of a receipt failed with W-BLACK (blacklisted after a complaint), on that channel", async () => {
    const d = fakes.sms.deliveries()[5]!;
    const r = await pushWithRetry(cb, JSON.stringify([aliyunReport(d, false, d.at + 180_000, "W-BLACK")]), { attempts: 1 });
    expect(r.statuses).toEqual([200]);
    const dbh = db(repo);
    const rows = dbh.prepare("SELECT channel, address, source, reason FROM suppressions WHERE source = 'send-error'").all();
    dbh.close();
    expect(rows).toEqual([{ channel: "sms", address: d.phone, source: "send-error", reason: expect.stringMatching(/^W-BLACK: /) }]);
  });

  it("logs no callback token and no full phone number", () => {
    const logs = served.stderr();
    expect(logs).toContain('"msg":"callback"');
    expect(logs).not.toContain(TOKEN);
    expect(logs).not.toMatch(/139\d{8}/);
  });

  it("stops cleanly on SIGTERM", async () => {
    expect(await served.stop()).toBe(0);
    const again = await run(repo, ["status", "--json"]);
    expect(again.exitCode).toBe(0);
  });
});

describe("chuda serve: WeChat template-message results, safe mode and plain", () => {
  let fakes: Fakes;
  let repo: TestRepo;
  let served: Served;
  const AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

  beforeAll(async () => {
    const members = makeMembers(12, 8, { oa: 1, unsubscribed: 0 });
    fakes = await startFakes(members);
    repo = makeRepo({
      channels: { template_message: fakes.channels.template_message! },
      campaigns: [{ name: "notice", template: "notice", channels: ["template_message"], trigger: "once at 2026-12-24 10:00" }],
      members,
    });
    const file = path.join(repo.dir, "chuda.yaml");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace("app_secret: WX_APP_SECRET", "app_secret: WX_APP_SECRET, callback_token: WX_CB_TOKEN, encoding_aes_key: WX_AES"),
    );
    repo.env.WX_CB_TOKEN = "wxcbtoken";
    repo.env.WX_AES = AES;
    const r = await dispatch(repo, AT);
    expect(summaryOf(r).sent).toBe(12);
    served = await startServe(repo);
  }, 120_000);

  afterAll(async () => {
    await served?.stop();
    await fakes?.close();
  });

  it("verifies the URL, records results pushed in safe mode and plain (retried after a refusal), and suppresses a user block", async () => {
    const base = `${served.url}/callbacks/template_message/wxcbtoken`;
    const ver = await httpRequest(`${base}?${wxPlainQuery("wxcbtoken")}&echostr=hello42`, "GET");
    expect([ver.status, ver.body]).toEqual([200, "hello42"]);
    const ds = fakes.wechat.deliveries();
    const statusOf = (i: number) => (i === 0 ? "failed:user block" : i === 1 ? "failed: system failed" : "success");
    for (const [i, d] of ds.entries()) {
      const xml = templateFinish(d.openid, d.msgid, statusOf(i), Math.floor(Date.parse("2026-12-24T10:31:00+08:00") / 1000));
      if (i % 2 === 0) {
        const s = wxSafeMode("wxcbtoken", AES, repo.env.WX_APP_ID!, xml);
        expect((await pushWithRetry(`${base}?${s.query}`, s.body, { attempts: PUSH_ATTEMPTS.wechat, contentType: "text/xml" })).statuses).toEqual([200]);
      } else {
        // A push signed with the wrong token is refused (401) and nothing is written; WeChat's retry, signed right, lands.
        const wrong = await pushWithRetry(`${base}?${wxPlainQuery("not-the-token")}`, xml, { attempts: 1, contentType: "text/xml" });
        expect(wrong.statuses).toEqual([401]);
        expect((await pushWithRetry(`${base}?${wxPlainQuery("wxcbtoken")}`, xml, { attempts: PUSH_ATTEMPTS.wechat, contentType: "text/xml" })).body).toBe(
          "success",
        );
      }
    }
    const s = (await status(repo)) as unknown as { delivery: { delivered: number; failed: number; unconfirmed: number }; suppressed: number };
    expect(s.delivery).toEqual({ delivered: 10, failed: 2, unconfirmed: 0 });
    expect(s.suppressed).toBe(1);
    expect(count(repo, "SELECT COUNT(*) AS n FROM receipts")).toBe(12);
  });
});
