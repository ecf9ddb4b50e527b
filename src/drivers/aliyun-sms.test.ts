import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import aliyunSms, { classifyAliyunCode } from "./aliyun-sms.js";
import type { DriverInstance, SendRequest } from "./types.js";
import type { SmsContent } from "../content/types.js";
import { type AliyunSmsFake, type AliyunSmsFakeOptions, startAliyunSmsFake } from "../../test/fakes/aliyun-sms.js";
import { fault, manualClock } from "../../test/fakes/common.js";
import { groupId } from "./sms-common.js";

const KEY_ID = "LTAI5tAliyunTestKeyId";
const KEY_SECRET = "aliyun-Secret-Value-0123456789";

function sms(params: Record<string, string>): SmsContent {
  return { kind: "sms", sign: "示例商场", code: "SMS_2001", params, text: "…" };
}

function req(member: string, address: string, content: SmsContent = sms({ coupon: "BDAY50" }), campaign = "birthday"): SendRequest {
  const occurrence = "2026-11-24T10:00:00+08:00";
  const key = `${campaign}|${occurrence}|${member}|sms`;
  return { key, dedupeId: createHash("sha256").update(key).digest("hex").slice(0, 32), campaign, occurrence, member, channel: "sms", address, content };
}

const fakes: AliyunSmsFake[] = [];
const instances: DriverInstance[] = [];
afterEach(async () => {
  for (const i of instances.splice(0)) await i.close();
  for (const f of fakes.splice(0)) await f.close();
});

async function setup(opts: AliyunSmsFakeOptions = {}, drv: { secret?: string; timeoutMs?: number; options?: Record<string, unknown> } = {}) {
  const clock = manualClock(Date.UTC(2026, 10, 24, 2, 0, 0));
  const fake = await startAliyunSmsFake({ accessKeys: { [KEY_ID]: KEY_SECRET }, clock: clock.now, ...opts });
  fakes.push(fake);
  const inst = aliyunSms.create({
    channel: "sms",
    secrets: { access_key_id: KEY_ID, access_key_secret: drv.secret ?? KEY_SECRET },
    baseUrl: fake.url,
    options: drv.options ?? {},
    now: clock.now,
    timeoutMs: drv.timeoutMs ?? 5000,
    root: "/tmp",
  });
  instances.push(inst);
  return { fake, inst, clock };
}

describe("aliyun-sms driver", () => {
  it("declares its contract", () => {
    expect(aliyunSms).toMatchObject({ name: "aliyun-sms", contentKind: "sms", batchLimit: 100, secrets: ["access_key_id", "access_key_secret"] });
    expect(classifyAliyunCode("isv.BUSINESS_LIMIT_CONTROL")).toBe("defer");
    expect(classifyAliyunCode("isv.AMOUNT_NOT_ENOUGH")).toBe("stop");
    expect(classifyAliyunCode("isp.SOMETHING_NEW")).toBe("retry");
    expect(classifyAliyunCode("isv.SOMETHING_NEW")).toBe("request");
  });

  it("sends identical content in one SendSms, personalised content in one SendBatchSms, a lone one singly", async () => {
    const { fake, inst } = await setup();
    const same = ["13800000001", "13800000002", "+8613800000003"].map((p, i) => req(`S${i}`, p));
    const own = ["13900000001", "13900000002"].map((p, i) => req(`P${i}`, p, sms({ name: `会员${i}` })));
    const lone = req("L0", "13700000001", sms({ coupon: "X" }), "welcome");
    // Interleaved: a message's recipients are one call wherever they are in the batch.
    const out = await inst.send([same[0]!, own[0]!, same[1]!, lone, own[1]!, same[2]!]);
    expect(out.map((o) => o.status)).toEqual(Array(6).fill("sent"));
    expect(out[0]).toMatchObject({ providerId: expect.stringMatching(/\^0$/) });
    const calls = fake
      .calls()
      .map((c) => [c.action, c.numbers, c.code])
      .sort();
    expect(calls).toEqual([
      ["SendBatchSms", 2, "OK"],
      ["SendSms", 1, "OK"],
      ["SendSms", 3, "OK"],
    ]);
    const d = fake.deliveries();
    expect(d).toHaveLength(6);
    expect(new Set(d.map((x) => x.phone)).size).toBe(6);
    expect(d.find((x) => x.phone === "13900000002")!.params).toEqual({ name: "会员1" });
    expect(d.find((x) => x.phone === "13700000001")!.outId).toBe(lone.dedupeId);
    expect(d.find((x) => x.phone === "13800000003")!.outId).toBe(groupId(same[0]!));
  });

  it("rejects bad numbers locally and isolates a number the provider rejects in a list", async () => {
    const { fake, inst } = await setup({ recipientErrors: { "13800000002": "isv.MOBILE_NUMBER_ILLEGAL" } });
    const batch = [req("A", "13800000001"), req("B", "13800000002"), req("C", "13800000003"), req("D", "12345")];
    const out = await inst.send(batch);
    expect(out.map((o) => (o.status === "failed" ? `${o.class}:${o.code}` : o.status))).toEqual([
      "sent",
      "recipient:isv.MOBILE_NUMBER_ILLEGAL",
      "sent",
      "recipient:isv.MOBILE_NUMBER_ILLEGAL",
    ]);
    expect(
      fake
        .deliveries()
        .map((d) => d.phone)
        .sort(),
    ).toEqual(["13800000001", "13800000003"]);
  });

  it("classifies throttling as retry and the per-number limit as defer with a not-before", async () => {
    const { inst, clock } = await setup({ rateLimit: { perSecond: 1 }, perNumberDailyLimit: 1 });
    expect((await inst.send([req("A", "13800000001")]))[0]!.status).toBe("sent");
    const t = (await inst.send([req("B", "13800000002")]))[0]!;
    expect(t).toMatchObject({ status: "failed", class: "retry", code: "Throttling.User" });
    clock.advance(1000);
    const d = (await inst.send([req("A", "13800000001")]))[0]!;
    expect(d).toMatchObject({ status: "failed", class: "defer", code: "isv.BUSINESS_LIMIT_CONTROL" });
    expect(d.status === "failed" && d.notBefore! > clock.now()).toBe(true);
  });

  it("stops on an exhausted balance and on a bad secret, without leaking secrets or numbers", async () => {
    const a = await setup({ balance: 0 });
    const out = await a.inst.send([req("A", "13800000001"), req("B", "13800000002")]);
    expect(out.every((o) => o.status === "failed" && o.class === "stop" && o.code === "isv.AMOUNT_NOT_ENOUGH")).toBe(true);
    const b = await setup({}, { secret: "not-the-Secret-value" });
    const bad = await b.inst.send([req("A", "13800000001")]);
    expect(bad[0]).toMatchObject({ status: "failed", class: "stop", code: "SignatureDoesNotMatch" });
    const text = JSON.stringify([...out, ...bad]);
    for (const s of [KEY_SECRET, "not-the-Secret-value", "13800000001"]) expect(text).not.toContain(s);
  });

  it("retries 5xx with a provider body, calls a non-JSON answer ambiguous", async () => {
    const { inst, fake } = await setup();
    fake.script(fault.http(503), fault.badJson());
    expect((await inst.send([req("A", "13800000001")]))[0]).toMatchObject({ status: "failed", class: "retry", code: "ServiceUnavailable" });
    expect((await inst.send([req("A", "13800000001")]))[0]).toMatchObject({ status: "failed", class: "ambiguous", code: "bad_answer" });
    expect(fake.deliveries()).toHaveLength(0);
  });

  it("accept-then-drop → ambiguous, then reconcile finds the OutId; a reset request is proven unsent", async () => {
    const { inst, fake, clock } = await setup();
    const one = req("A", "13800000001");
    const group = [req("B", "13800000002"), req("C", "13800000003")];
    fake.script(fault.acceptThenDrop(), fault.acceptThenDrop());
    const o1 = await inst.send([one]);
    const o2 = await inst.send(group);
    expect([...o1, ...o2].map((o) => o.status === "failed" && o.class)).toEqual(["ambiguous", "ambiguous", "ambiguous"]);
    expect(fake.deliveries()).toHaveLength(3);
    clock.advance(60_000);
    const first = clock.now() - 60_000;
    const rec = await inst.reconcile!([
      ...[one, ...group].map((r) => ({ ...r, firstAttemptAt: first })),
      { ...req("D", "13800000004"), firstAttemptAt: first },
    ]);
    expect(rec.map((o) => (o?.status === "failed" ? `${o.class}:${o.code}` : o?.status))).toEqual(["sent", "sent", "sent", "retry:not_found"]);

    fake.script(fault.reset());
    const r = await inst.send([req("E", "13800000005")]);
    expect(r[0]).toMatchObject({ status: "failed", class: "ambiguous", code: "reset" });
    const back = await inst.reconcile!([req("E", "13800000005")]);
    expect(back[0]).toMatchObject({ status: "failed", class: "retry", code: "not_found" });
    expect(fake.deliveries()).toHaveLength(3);
  });

  it("reports an undelivered receipt as a recipient failure on reconcile", async () => {
    const { inst, fake, clock } = await setup({ receiptDelayMs: 1000, deliveryFailures: { "13800000001": "MK:0001" } });
    fake.script(fault.acceptThenDrop());
    await inst.send([req("A", "13800000001")]);
    clock.advance(2000);
    const rec = await inst.reconcile!([req("A", "13800000001")]);
    expect(rec[0]).toMatchObject({ status: "failed", class: "recipient", code: "MK:0001" });
  });

  it("times out into ambiguous", async () => {
    const { inst, fake } = await setup({}, { timeoutMs: 200 });
    fake.script(fault.slow(1500));
    const out = await inst.send([req("A", "13800000001")]);
    expect(out[0]).toMatchObject({ status: "failed", class: "ambiguous", code: "timeout" });
  });
});
