import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { type AliyunSmsFake, type AliyunSmsFakeOptions, startAliyunSmsFake } from "./aliyun-sms.js";
import { manualClock } from "./common.js";
import { aliyunSignature, percentEncode } from "../../src/drivers/signing.js";

const fakes: AliyunSmsFake[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.close();
});

async function start(opts: AliyunSmsFakeOptions = {}) {
  const clock = manualClock(Date.UTC(2026, 10, 23, 2, 0, 0));
  const fake = await startAliyunSmsFake({ clock: clock.now, ...opts });
  fakes.push(fake);
  const iso = () => new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
  /** A signed call; `tamper` edits parameters after signing. */
  const call = async (
    action: string,
    extra: Record<string, string>,
    o: { method?: "GET" | "POST"; secret?: string; keyId?: string; nonce?: string; timestamp?: string; tamper?: (p: Record<string, string>) => void } = {},
  ) => {
    const method = o.method ?? "POST";
    const p: Record<string, string> = {
      AccessKeyId: o.keyId ?? "testid",
      Action: action,
      Format: "JSON",
      RegionId: "cn-hangzhou",
      SignatureMethod: "HMAC-SHA1",
      SignatureNonce: o.nonce ?? randomUUID(),
      SignatureVersion: "1.0",
      Timestamp: o.timestamp ?? iso(),
      Version: "2017-05-25",
      ...extra,
    };
    p.Signature = aliyunSignature(method, p, o.secret ?? "testsecret");
    o.tamper?.(p);
    const q = Object.entries(p)
      .map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`)
      .join("&");
    const res =
      method === "GET"
        ? await fetch(`${fake.url}/?${q}`)
        : await fetch(`${fake.url}/`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: q });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const sendSms = (phones: string, extra: Record<string, string> = {}, o = {}) =>
    call("SendSms", { PhoneNumbers: phones, SignName: "示例商场", TemplateCode: "SMS_2001", TemplateParam: '{"name":"王伟"}', ...extra }, o);
  return { fake, clock, call, sendSms };
}

describe("aliyun-sms fake: gateway checks", () => {
  it("accepts a correctly signed GET and POST", async () => {
    const { sendSms, fake } = await start();
    const a = await sendSms("13800138000", { OutId: "k-1" }, { method: "GET" });
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ Code: "OK", Message: "OK" });
    expect(typeof a.body.BizId).toBe("string");
    const b = await sendSms("+8613800138001");
    expect(b.body.Code).toBe("OK");
    expect(fake.deliveries().map((d) => [d.phone, d.outId])).toEqual([
      ["13800138000", "k-1"],
      ["13800138001", undefined],
    ]);
  });

  it("rejects a bad signature with SignatureDoesNotMatch and records nothing", async () => {
    const { sendSms, fake } = await start();
    const r = await sendSms("13800138000", {}, { secret: "wrong" });
    expect(r.status).toBe(400);
    expect(r.body.Code).toBe("SignatureDoesNotMatch");
    expect(r.body.HostId).toBe("dysmsapi.aliyuncs.com");
    const t = await sendSms("13800138000", {}, { tamper: (p: Record<string, string>) => void (p.PhoneNumbers = "13900139000") });
    expect(t.body.Code).toBe("SignatureDoesNotMatch");
    // Signed for GET, sent as POST.
    const m = await sendSms("13800138000", {}, { tamper: (p: Record<string, string>) => void (p.Signature = aliyunSignature("GET", p, "testsecret")) });
    expect(m.body.Code).toBe("SignatureDoesNotMatch");
    expect(fake.deliveries()).toHaveLength(0);
  });

  it("checks the key id, the timestamp window and nonce reuse", async () => {
    const { sendSms } = await start();
    const k = await sendSms("13800138000", {}, { keyId: "nobody" });
    expect([k.status, k.body.Code]).toEqual([404, "InvalidAccessKeyId.NotFound"]);
    const old = await sendSms("13800138000", {}, { timestamp: "2026-11-23T01:44:59Z" });
    expect([old.status, old.body.Code]).toEqual([400, "InvalidTimeStamp.Expired"]);
    const edge = await sendSms("13800138000", {}, { timestamp: "2026-11-23T01:45:00Z" });
    expect(edge.body.Code).toBe("OK");
    const nonce = "45e25e9b-0a6f-4070-8c85-2956eda1b466";
    expect((await sendSms("13800138000", {}, { nonce })).body.Code).toBe("OK");
    expect((await sendSms("13800138000", {}, { nonce })).body.Code).toBe("SignatureNonceUsed");
  });

  it("checks Version and the signature method", async () => {
    const { call } = await start();
    expect((await call("SendSms", { Version: "2016-09-27" })).body.Code).toBe("InvalidVersion");
    expect((await call("SendSms", { SignatureMethod: "HMAC-SHA256" })).body.Code).toBe("InvalidSignatureMethod");
  });
});

describe("aliyun-sms fake: business rules", () => {
  it("validates numbers, counts and params (§7.4)", async () => {
    const { sendSms, call } = await start();
    expect((await sendSms("12345")).body.Code).toBe("isv.MOBILE_NUMBER_ILLEGAL");
    expect((await sendSms(Array.from({ length: 1001 }, (_, i) => `138${String(i).padStart(8, "0")}`).join(","))).body.Code).toBe("isv.MOBILE_COUNT_OVER_LIMIT");
    expect((await sendSms("13800138000", { TemplateParam: '{"n":1}' })).body.Code).toBe("isv.INVALID_JSON_PARAM");
    const batch = (n: number) =>
      call("SendBatchSms", {
        PhoneNumberJson: JSON.stringify(Array.from({ length: n }, (_, i) => `139${String(i).padStart(8, "0")}`)),
        SignNameJson: JSON.stringify(Array(n).fill("示例商场")),
        TemplateCode: "SMS_2001",
        TemplateParamJson: JSON.stringify(Array.from({ length: n }, (_, i) => ({ name: `n${i}` }))),
      });
    expect((await batch(101)).body.Code).toBe("isv.MOBILE_COUNT_OVER_LIMIT");
    expect((await batch(100)).body.Code).toBe("OK");
    const mismatch = await call("SendBatchSms", { PhoneNumberJson: '["13900000001","13900000002"]', SignNameJson: '["示例商场"]', TemplateCode: "SMS_2001" });
    expect(mismatch.body.Code).toBe("isv.INVALID_PARAMETERS");
  });

  it("checks templates and signs when configured", async () => {
    const { sendSms } = await start({ signs: ["示例商场"], templates: { SMS_2001: { params: ["name", "coupon"] } } });
    expect((await sendSms("13800138000")).body.Code).toBe("isv.TEMPLATE_MISSING_PARAMETERS");
    expect((await sendSms("13800138000", { TemplateCode: "SMS_9" })).body.Code).toBe("isv.SMS_TEMPLATE_ILLEGAL");
    expect((await sendSms("13800138000", { SignName: "别家", TemplateParam: '{"name":"a","coupon":"b"}' })).body.Code).toBe("isv.SMS_SIGNATURE_ILLEGAL");
    expect((await sendSms("13800138000", { TemplateParam: '{"name":"a","coupon":"b"}' })).body.Code).toBe("OK");
  });

  it("limits (sign, template, number) to 50 per rolling 24 h", async () => {
    const { sendSms, clock } = await start({ perNumberDailyLimit: 3 });
    for (let i = 0; i < 3; i++) {
      expect((await sendSms("13800138000")).body.Code).toBe("OK");
      clock.advance(3600_000);
    }
    expect((await sendSms("13800138000")).body.Code).toBe("isv.BUSINESS_LIMIT_CONTROL");
    expect((await sendSms("13800138000", { TemplateCode: "SMS_2002" })).body.Code).toBe("OK");
    clock.advance(21 * 3600_000); // the first send leaves the window
    expect((await sendSms("13800138000")).body.Code).toBe("OK");
  });

  it("spends a balance and answers isv.AMOUNT_NOT_ENOUGH", async () => {
    const { sendSms, fake } = await start({ balance: 2 });
    expect((await sendSms("13800138000,13800138001,13800138002")).body.Code).toBe("isv.AMOUNT_NOT_ENOUGH");
    expect((await sendSms("13800138000,13800138001")).body.Code).toBe("OK");
    expect((await sendSms("13800138002")).body.Code).toBe("isv.AMOUNT_NOT_ENOUGH");
    fake.setBalance(5);
    expect((await sendSms("13800138002")).body.Code).toBe("OK");
  });

  it("answers Throttling.User above the QPS", async () => {
    const { sendSms, clock } = await start({ rateLimit: { perSecond: 2 } });
    expect((await sendSms("13800138000")).body.Code).toBe("OK");
    expect((await sendSms("13800138001")).body.Code).toBe("OK");
    const t = await sendSms("13800138002");
    expect(t.body.Code).toBe("Throttling.User");
    clock.advance(1000);
    expect((await sendSms("13800138002")).body.Code).toBe("OK");
  });

  it("serves receipts that turn final after the delay, with OutId", async () => {
    const { sendSms, call, clock } = await start({ receiptDelayMs: 10_000, deliveryFailures: { "13800138001": "MK:0001" } });
    await sendSms("13800138000,13800138001", { OutId: "g-abc" });
    const q = (phone: string) => call("QuerySendDetails", { PhoneNumber: phone, SendDate: "20261123", PageSize: "10", CurrentPage: "1" });
    const first = await q("13800138000");
    expect(first.body.TotalCount).toBe(1);
    const dto = (first.body.SmsSendDetailDTOs as { SmsSendDetailDTO: Record<string, unknown>[] }).SmsSendDetailDTO[0]!;
    expect(dto).toMatchObject({ PhoneNum: "13800138000", SendStatus: 1, OutId: "g-abc", TemplateCode: "SMS_2001", SendDate: "2026-11-23 10:00:00" });
    clock.advance(10_000);
    const ok = ((await q("13800138000")).body.SmsSendDetailDTOs as { SmsSendDetailDTO: Record<string, unknown>[] }).SmsSendDetailDTO[0]!;
    expect([ok.SendStatus, ok.ErrCode]).toEqual([3, "DELIVRD"]);
    const bad = ((await q("13800138001")).body.SmsSendDetailDTOs as { SmsSendDetailDTO: Record<string, unknown>[] }).SmsSendDetailDTO[0]!;
    expect([bad.SendStatus, bad.ErrCode]).toEqual([2, "MK:0001"]);
    const other = await call("QuerySendDetails", { PhoneNumber: "13800138000", SendDate: "20261122", PageSize: "10", CurrentPage: "1" });
    expect(other.body.TotalCount).toBe(0);
    expect((await call("QuerySendDetails", { PhoneNumber: "13800138000", SendDate: "20261123", PageSize: "51", CurrentPage: "1" })).body.Code).toBe(
      "isv.INVALID_PARAMETERS",
    );
  });
});

describe("aliyun-sms fake: seeded faults", () => {
  it("draws the same faults for the same seed and logs each with its request", async () => {
    const run = async () => {
      const { sendSms, fake } = await start({ faultRate: 0.5, seed: 7, slowMs: 50 });
      const statuses: string[] = [];
      for (let i = 0; i < 12; i++) {
        try {
          const r = await sendSms(`1380000${String(i).padStart(4, "0")}`);
          statuses.push(`${r.status}:${String(r.body.Code)}`);
        } catch {
          statuses.push("transport");
        }
      }
      return { statuses, log: fake.faults() };
    };
    const a = await run();
    const b = await run();
    expect(a.log.length).toBeGreaterThan(0);
    expect(a.log.map((l) => l.fault)).toEqual(b.log.map((l) => l.fault));
    expect(a.statuses).toEqual(b.statuses);
    expect(a.log.every((l) => l.source === "rate" && l.body.includes("PhoneNumbers="))).toBe(true);
  });
});
