import { afterEach, describe, expect, it } from "vitest";
import { type TencentSmsFake, type TencentSmsFakeOptions, startTencentSmsFake } from "./tencent-sms.js";
import { manualClock } from "./common.js";
import { TC3_CONTENT_TYPE, tc3Sign } from "../../src/drivers/signing.js";

const fakes: TencentSmsFake[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.close();
});

type Resp = { Response: { Error?: { Code: string }; SendStatusSet?: Record<string, unknown>[]; PullSmsSendStatusSet?: Record<string, unknown>[] } };

async function start(opts: TencentSmsFakeOptions = {}, at = Date.UTC(2026, 10, 23, 2, 0, 0)) {
  const clock = manualClock(at);
  const fake = await startTencentSmsFake({ clock: clock.now, ...opts });
  fakes.push(fake);
  const call = async (
    action: string,
    payload: unknown,
    o: { secretKey?: string; secretId?: string; ts?: number; date?: string; signed?: string[]; version?: string; host?: string; tamperBody?: string } = {},
  ) => {
    const body = JSON.stringify(payload);
    const ts = o.ts ?? Math.floor(clock.now() / 1000);
    const signed = o.signed ?? ["content-type", "host", "x-tc-action"];
    const sig = tc3Sign({
      secretId: o.secretId ?? "AKIDtest",
      secretKey: o.secretKey ?? "testsecretkey",
      service: "sms",
      timestamp: ts,
      headers: { "content-type": TC3_CONTENT_TYPE, host: o.host ?? "127.0.0.1", "x-tc-action": action },
      signedHeaders: signed,
      body,
      date: o.date,
    });
    const res = await fetch(`${fake.url}/`, {
      method: "POST",
      headers: {
        "content-type": TC3_CONTENT_TYPE,
        "x-tc-action": action,
        "x-tc-version": o.version ?? "2021-01-11",
        "x-tc-timestamp": String(ts),
        "x-tc-region": "ap-guangzhou",
        authorization: sig.authorization,
      },
      body: o.tamperBody ?? body,
    });
    return (await res.json()) as Resp;
  };
  const send = (phones: string[], extra: Record<string, unknown> = {}, o = {}) =>
    call(
      "SendSms",
      { PhoneNumberSet: phones, SmsSdkAppId: "1400000000", SignName: "示例商场", TemplateId: "1000001", TemplateParamSet: ["王伟", "BDAY50"], ...extra },
      o,
    );
  return { fake, clock, call, send };
}

describe("tencent-sms fake: TC3 verification", () => {
  it("accepts a signed call (port stripped from Host) and answers per number", async () => {
    const { send, fake } = await start();
    const r = await send(["+8613800138000", "13800138001"], { SessionContext: "sess-1" });
    expect(r.Response.Error).toBeUndefined();
    expect(r.Response.SendStatusSet!.map((s) => [s.PhoneNumber, s.Code, s.SessionContext])).toEqual([
      ["+8613800138000", "Ok", "sess-1"],
      ["+8613800138001", "Ok", "sess-1"],
    ]);
    expect(fake.deliveries()).toHaveLength(2);
  });

  it("rejects wrong keys, tampered bodies, stale timestamps, the Beijing date and missing signed headers", async () => {
    const { send, fake, clock } = await start({}, Date.UTC(2026, 10, 23, 17, 30, 0));
    expect((await send(["13800138000"], {}, { secretKey: "nope" })).Response.Error!.Code).toBe("AuthFailure.SignatureFailure");
    expect((await send(["13800138000"], {}, { secretId: "AKIDother" })).Response.Error!.Code).toBe("AuthFailure.SecretIdNotFound");
    expect((await send(["13800138000"], {}, { tamperBody: '{"PhoneNumberSet":["13900139000"]}' })).Response.Error!.Code).toBe("AuthFailure.SignatureFailure");
    expect((await send(["13800138000"], {}, { date: "2026-11-24" })).Response.Error!.Code).toBe("AuthFailure.SignatureFailure");
    expect((await send(["13800138000"], {}, { signed: ["content-type", "x-tc-action"] })).Response.Error!.Code).toBe("AuthFailure.SignatureFailure");
    expect((await send(["13800138000"], {}, { host: "127.0.0.2" })).Response.Error!.Code).toBe("AuthFailure.SignatureFailure");
    const ts = Math.floor(clock.now() / 1000) - 301;
    expect((await send(["13800138000"], {}, { ts })).Response.Error!.Code).toBe("AuthFailure.SignatureExpire");
    expect((await send(["13800138000"], {}, { version: "2019-07-11" })).Response.Error!.Code).toBe("NoSuchVersion");
    expect(fake.deliveries()).toHaveLength(0);
    // Signing only content-type;host, as the official Node SDK does, is accepted.
    expect((await send(["13800138000"], {}, { signed: ["content-type", "host"] })).Response.Error).toBeUndefined();
  });
});

describe("tencent-sms fake: business rules", () => {
  it("validates the body (§8.4)", async () => {
    const { send } = await start({ templates: { "1000001": { params: 2 } } });
    expect((await send([])).Response.Error!.Code).toBe("MissingParameter.EmptyPhoneNumberSet");
    expect((await send(Array.from({ length: 201 }, (_, i) => `+86138${String(i).padStart(8, "0")}`))).Response.Error!.Code).toBe(
      "LimitExceeded.PhoneNumberCountLimit",
    );
    expect((await send(["+8613800138000", "+14155550100"])).Response.Error!.Code).toBe("UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber");
    expect((await send(["13800138000"], { SmsSdkAppId: "1400999999" })).Response.Error!.Code).toBe("UnauthorizedOperation.SmsSdkAppIdVerifyFail");
    expect((await send(["13800138000"], { TemplateId: "9" })).Response.Error!.Code).toBe("FailedOperation.TemplateIncorrectOrUnapproved");
    expect((await send(["13800138000"], { TemplateParamSet: ["a"] })).Response.Error!.Code).toBe("FailedOperation.TemplateParamSetNotMatchApprovedTemplate");
    expect((await send(["13800138000"], { SignName: "示" })).Response.Error!.Code).toBe("FailedOperation.SignatureIncorrectOrUnapproved");
  });

  it("mixes per-number codes in one SendStatusSet", async () => {
    const { send, fake } = await start({ blacklist: ["13800000003"], perNumber: { daily: 1 } });
    await send(["13800000002"]);
    const r = await send(["13800000001", "13800000002", "13800000003", "1380000"]);
    expect(r.Response.SendStatusSet!.map((s) => s.Code)).toEqual([
      "Ok",
      "LimitExceeded.PhoneNumberDailyLimit",
      "FailedOperation.PhoneNumberInBlacklist",
      "InvalidParameterValue.IncorrectPhoneNumber",
    ]);
    expect(fake.deliveries().map((d) => d.phone)).toEqual(["+8613800000002", "+8613800000001"]);
  });

  it("counts 30 s and 1 h windows on the fake clock", async () => {
    const { send, clock } = await start({ perNumber: { thirtySeconds: 1, oneHour: 2 } });
    expect((await send(["13800000001"])).Response.SendStatusSet![0]!.Code).toBe("Ok");
    expect((await send(["13800000001"])).Response.SendStatusSet![0]!.Code).toBe("LimitExceeded.PhoneNumberThirtySecondLimit");
    clock.advance(30_000);
    expect((await send(["13800000001"])).Response.SendStatusSet![0]!.Code).toBe("Ok");
    clock.advance(30_000);
    expect((await send(["13800000001"])).Response.SendStatusSet![0]!.Code).toBe("LimitExceeded.PhoneNumberOneHourLimit");
  });

  it("refuses marketing templates outside 08:00–22:00 Asia/Shanghai", async () => {
    const { send, clock } = await start({ templates: { "1000001": { params: 2, marketing: true } } }, Date.UTC(2026, 10, 23, 14, 0, 0));
    expect((await send(["13800000001"])).Response.Error!.Code).toBe("FailedOperation.MarketingSendTimeConstraint");
    clock.set(Date.UTC(2026, 10, 24, 0, 0, 0)); // 08:00 Beijing
    expect((await send(["13800000001"])).Response.Error).toBeUndefined();
  });

  it("enforces the app daily limit, the balance and the request rate", async () => {
    const a = await start({ appDailyLimit: 1 });
    expect((await a.send(["13800000001"])).Response.Error).toBeUndefined();
    expect((await a.send(["13800000002"])).Response.Error!.Code).toBe("LimitExceeded.AppDailyLimit");
    const b = await start({ balance: 1 });
    const r = await b.send(["13800000001", "13800000002"]);
    expect(r.Response.SendStatusSet!.map((s) => s.Code)).toEqual(["Ok", "FailedOperation.InsufficientBalanceInSmsPackage"]);
    const c = await start({ rateLimit: { perSecond: 1 } });
    await c.send(["13800000001"]);
    expect((await c.send(["13800000002"])).Response.Error!.Code).toBe("RequestLimitExceeded");
  });

  it("serves reports after the delay, by phone and from the queue", async () => {
    const { send, call, clock } = await start({ reportDelayMs: 10_000, deliveryFailures: { "13800000002": "DELIVRD_FAIL" } });
    await send(["13800000001", "13800000002"], { SessionContext: "g-1" });
    const begin = Math.floor(clock.now() / 1000) - 60;
    const byPhone = (p: string) =>
      call("PullSmsSendStatusByPhoneNumber", { BeginTime: begin, EndTime: begin + 3600, Offset: 0, Limit: 100, PhoneNumber: p, SmsSdkAppId: "1400000000" });
    expect((await byPhone("+8613800000001")).Response.PullSmsSendStatusSet).toEqual([]);
    clock.advance(10_000);
    const one = (await byPhone("+8613800000001")).Response.PullSmsSendStatusSet!;
    expect(one).toHaveLength(1);
    expect(one[0]).toMatchObject({ ReportStatus: "SUCCESS", SessionContext: "g-1", PhoneNumber: "+8613800000001", SubscriberNumber: "13800000001" });
    const two = (await byPhone("+8613800000002")).Response.PullSmsSendStatusSet!;
    expect(two[0]).toMatchObject({ ReportStatus: "FAIL", Description: "DELIVRD_FAIL" });
    const q1 = await call("PullSmsSendStatus", { Limit: 100, SmsSdkAppId: "1400000000" });
    expect(q1.Response.PullSmsSendStatusSet).toHaveLength(2);
    const q2 = await call("PullSmsSendStatus", { Limit: 100, SmsSdkAppId: "1400000000" });
    expect(q2.Response.PullSmsSendStatusSet).toHaveLength(0);
  });
});
