import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import tencentSms, { classifyTencentCode, tencentNotBefore } from "./tencent-sms.js";
import type { DriverInstance, SendOutcome, SendRequest } from "./types.js";
import type { SmsContent } from "../content/types.js";
import { type TencentSmsFake, type TencentSmsFakeOptions, startTencentSmsFake } from "../../test/fakes/tencent-sms.js";
import { fault, manualClock } from "../../test/fakes/common.js";
import { groupId } from "./sms-common.js";

const SECRET_ID = "AKIDdriverTest0001";
const SECRET_KEY = "tencent-Secret-Key-0123456789";

function sms(params: Record<string, string> = { name: "王伟", coupon: "BDAY50" }): SmsContent {
  return { kind: "sms", sign: "示例商场", code: "1000001", params, text: "…" };
}

function req(member: string, address: string, content: SmsContent = sms()): SendRequest {
  const occurrence = "2026-11-24T10:00:00+08:00";
  const key = `birthday|${occurrence}|${member}|sms`;
  return {
    key,
    dedupeId: createHash("sha256").update(key).digest("hex").slice(0, 32),
    campaign: "birthday",
    occurrence,
    member,
    channel: "sms",
    address,
    content,
  };
}

const fakes: TencentSmsFake[] = [];
const instances: DriverInstance[] = [];
afterEach(async () => {
  for (const i of instances.splice(0)) await i.close();
  for (const f of fakes.splice(0)) await f.close();
});

async function setup(opts: TencentSmsFakeOptions = {}, drv: { secretKey?: string; timeoutMs?: number; options?: Record<string, unknown>; at?: number } = {}) {
  const clock = manualClock(drv.at ?? Date.UTC(2026, 10, 24, 2, 0, 0));
  const fake = await startTencentSmsFake({ secrets: { [SECRET_ID]: SECRET_KEY }, clock: clock.now, ...opts });
  fakes.push(fake);
  const inst = tencentSms.create({
    channel: "sms",
    secrets: { secret_id: SECRET_ID, secret_key: drv.secretKey ?? SECRET_KEY },
    baseUrl: fake.url,
    options: { sdk_app_id: "1400000000", ...(drv.options ?? {}) },
    now: clock.now,
    timeoutMs: drv.timeoutMs ?? 5000,
    root: "/tmp",
  });
  instances.push(inst);
  return { fake, inst, clock };
}

const summary = (o: (SendOutcome | undefined)[]) => o.map((x) => (x === undefined ? "unknown" : x.status === "failed" ? `${x.class}:${x.code}` : x.status));

describe("tencent-sms driver", () => {
  it("declares its contract and classes", () => {
    expect(tencentSms).toMatchObject({
      name: "tencent-sms",
      contentKind: "sms",
      batchLimit: 200,
      batchSameContent: true,
      secrets: ["secret_id", "secret_key"],
    });
    expect(classifyTencentCode("FailedOperation.PhoneNumberInBlacklist")).toBe("recipient");
    expect(classifyTencentCode("InternalError.Timeout")).toBe("ambiguous");
    expect(classifyTencentCode("AuthFailure.Something")).toBe("stop");
    const now = Date.UTC(2026, 10, 24, 14, 30, 0); // 22:30 Beijing
    expect(tencentNotBefore("FailedOperation.MarketingSendTimeConstraint", now)).toBe(Date.UTC(2026, 10, 25, 0, 0, 0));
    expect(tencentNotBefore("LimitExceeded.PhoneNumberDailyLimit", now)).toBe(Date.UTC(2026, 10, 24, 16, 0, 0));
  });

  it("sends identical content in one call with the group SessionContext, a lone one with its dedupeId", async () => {
    const { inst, fake } = await setup();
    const group = ["13800000001", "+8613800000002", "8613800000003"].map((p, i) => req(`G${i}`, p));
    const lone = req("L", "13900000001", sms({ name: "李娜", coupon: "BDAY50" }));
    const out = await inst.send([...group, lone]);
    expect(summary(out)).toEqual(["sent", "sent", "sent", "sent"]);
    expect(out[0]).toMatchObject({ providerId: expect.stringMatching(/^2028:/) });
    expect(
      fake
        .calls()
        .map((c) => [c.numbers, c.sessionContext])
        .sort(),
    ).toEqual(
      [
        [3, groupId(group[0]!)],
        [1, lone.dedupeId],
      ].sort(),
    );
    expect(fake.deliveries().find((d) => d.phone === "+8613900000001")!.params).toEqual(["李娜", "BDAY50"]);
  });

  it("maps a batch with mixed per-number results", async () => {
    const { inst, fake, clock } = await setup({
      blacklist: ["13800000003"],
      perNumber: { daily: 1 },
      recipientErrors: { "13800000005": "InvalidParameterValue.IncorrectPhoneNumber" },
    });
    await inst.send([req("X", "13800000002")]);
    const batch = ["13800000001", "13800000002", "13800000003", "13800000005", "1380"].map((p, i) => req(`M${i}`, p));
    const out = await inst.send(batch);
    expect(summary(out)).toEqual([
      "sent",
      "defer:LimitExceeded.PhoneNumberDailyLimit",
      "recipient:FailedOperation.PhoneNumberInBlacklist",
      "recipient:InvalidParameterValue.IncorrectPhoneNumber",
      "recipient:InvalidParameterValue.IncorrectPhoneNumber",
    ]);
    expect(out[1]!.status === "failed" && out[1]!.notBefore).toBe(Date.UTC(2026, 10, 24, 16, 0, 0));
    expect(clock.now()).toBeLessThan(Date.UTC(2026, 10, 24, 16, 0, 0));
    expect(fake.deliveries()).toHaveLength(2);
  });

  it("retries RequestLimitExceeded, defers marketing at night, stops on a bad key without leaking it", async () => {
    const a = await setup({ rateLimit: { perSecond: 1 } });
    await a.inst.send([req("A", "13800000001")]);
    expect(summary(await a.inst.send([req("B", "13800000002")]))).toEqual(["retry:RequestLimitExceeded"]);
    const night = Date.UTC(2026, 10, 24, 15, 0, 0); // 23:00 Beijing
    const b = await setup({ templates: { "1000001": { params: 2, marketing: true } } }, { at: night });
    const m = (await b.inst.send([req("A", "13800000001")]))[0]!;
    expect(m).toMatchObject({
      status: "failed",
      class: "defer",
      code: "FailedOperation.MarketingSendTimeConstraint",
      notBefore: Date.UTC(2026, 10, 25, 0, 0, 0),
    });
    const c = await setup({}, { secretKey: "wrong-Secret-Key-value" });
    const s = await c.inst.send([req("A", "13800000001")]);
    expect(summary(s)).toEqual(["stop:AuthFailure.SignatureFailure"]);
    const text = JSON.stringify([m, ...s]);
    expect(text).not.toContain(SECRET_KEY);
    expect(text).not.toContain("wrong-Secret-Key-value");
  });

  it("signs with the UTC date across Beijing midnight", async () => {
    const { inst, fake } = await setup({}, { at: Date.UTC(2026, 10, 23, 17, 30, 0) });
    expect(summary(await inst.send([req("A", "13800000001")]))).toEqual(["sent"]);
    expect(fake.deliveries()).toHaveLength(1);
  });

  it("retries InternalError.OtherError once, then gives up as request", async () => {
    const { inst, fake } = await setup();
    fake.script(fault.error("InternalError.OtherError"), fault.error("InternalError.OtherError"));
    expect(summary(await inst.send([req("A", "13800000001")]))).toEqual(["retry:InternalError.OtherError"]);
    expect(summary(await inst.send([req("A", "13800000001")]))).toEqual(["request:InternalError.OtherError"]);
  });

  it("accept-then-drop → ambiguous; reconcile finds the SessionContext report once it arrives", async () => {
    const { inst, fake, clock } = await setup({ reportDelayMs: 5000 });
    const group = [req("A", "13800000001"), req("B", "13800000002")];
    fake.script(fault.acceptThenDrop());
    const out = await inst.send(group);
    expect(summary(out)).toEqual(["ambiguous:reset", "ambiguous:reset"]);
    const first = clock.now();
    const withFirst = group.map((r) => ({ ...r, firstAttemptAt: first }));
    expect(summary(await inst.reconcile!(withFirst))).toEqual(["unknown", "unknown"]);
    clock.advance(5000);
    const rec = await inst.reconcile!([...withFirst, { ...req("C", "13800000003"), firstAttemptAt: first }]);
    expect(summary(rec)).toEqual(["sent", "sent", "unknown"]);
    expect(rec[0]).toMatchObject({ providerId: fake.deliveries()[0]!.serialNo });
    clock.advance(600_000);
    expect(summary(await inst.reconcile!([{ ...req("C", "13800000003"), firstAttemptAt: first }]))).toEqual(["retry:not_found"]);
  });

  it("cannot prove anything when reports carry no SessionContext", async () => {
    const { inst, fake, clock } = await setup({ reportDelayMs: 0, reportSessionContext: false });
    fake.script(fault.acceptThenDrop());
    const first = clock.now();
    await inst.send([req("A", "13800000001")]);
    clock.advance(3600_000);
    expect(summary(await inst.reconcile!([{ ...req("A", "13800000001"), firstAttemptAt: first }]))).toEqual(["unknown"]);
  });

  it("retries a 5xx with a provider body; a non-JSON answer is ambiguous", async () => {
    const { inst, fake } = await setup();
    fake.script(fault.http(502), fault.badJson());
    expect(summary(await inst.send([req("A", "13800000001")]))).toEqual(["retry:InternalError"]);
    expect(summary(await inst.send([req("A", "13800000001")]))).toEqual(["ambiguous:bad_answer"]);
  });
});
