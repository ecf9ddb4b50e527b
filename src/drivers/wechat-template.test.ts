import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import wechatTemplate from "./wechat-template.js";
import type { DriverInstance, SendOutcome, SendRequest } from "./types.js";
import type { TemplateMessageContent } from "../content/types.js";
import { type WechatFake, type WechatFakeOptions, startWechatFake } from "../../test/fakes/wechat.js";
import { fault, manualClock } from "../../test/fakes/common.js";

const APP = "wx8bd80126147dfAAA";
const SECRET = "wx-app-secret-0123456789abcdef";
const TPL = "RvvWaQI0at6oQ_X3U5x42-kXKdRXvu15x3QGeMWEzBo";
const FOLLOWERS = ["o_f1", "o_f2", "o_f3", "o_f4"];

function content(data: Record<string, string> = { thing1: "生日礼券", time3: "2026-11-30 22:00" }, template_id = TPL): TemplateMessageContent {
  return { kind: "template_message", template_id, miniprogram: { appid: "wx_mini", pagepath: "pages/coupon/index?id=BDAY50" }, data };
}

function req(member: string, address: string, c: TemplateMessageContent = content()): SendRequest {
  const key = `birthday|2026-11-24T10:00:00+08:00|${member}|template_message`;
  return {
    key,
    dedupeId: createHash("sha256").update(key).digest("hex").slice(0, 32),
    campaign: "birthday",
    occurrence: "2026-11-24T10:00:00+08:00",
    member,
    channel: "template_message",
    address,
    content: c,
  };
}

const fakes: WechatFake[] = [];
const instances: DriverInstance[] = [];
afterEach(async () => {
  for (const i of instances.splice(0)) await i.close();
  for (const f of fakes.splice(0)) await f.close();
});

async function setup(opts: WechatFakeOptions = {}, drv: { secret?: string; timeoutMs?: number; options?: Record<string, unknown> } = {}) {
  const clock = manualClock();
  const fake = await startWechatFake({
    apps: { [APP]: SECRET },
    followers: FOLLOWERS,
    unfollowed: ["o_gone"],
    templates: { [TPL]: { keys: ["thing1", "time3"] }, tpl_restricted: { keys: ["thing1"], restricted: true }, tpl_ad: { keys: ["thing1"], marketing: true } },
    clock: clock.now,
    ...opts,
  });
  fakes.push(fake);
  const inst = wechatTemplate.create({
    channel: "template_message",
    secrets: { app_id: APP, app_secret: drv.secret ?? SECRET },
    baseUrl: fake.url,
    options: drv.options ?? {},
    now: clock.now,
    timeoutMs: drv.timeoutMs ?? 5000,
    root: "/tmp",
  });
  instances.push(inst);
  return { fake, inst, clock };
}

describe("wechat-template driver against the loopback fake", () => {
  it("declares its contract", () => {
    expect(wechatTemplate.name).toBe("wechat-template");
    expect(wechatTemplate.contentKind).toBe("template_message");
    expect(wechatTemplate.secrets).toEqual(["app_id", "app_secret"]);
  });

  it("sends one message per follower with client_msg_id = dedupeId, through a stable token", async () => {
    const { fake, inst } = await setup();
    const batch = FOLLOWERS.map((o, i) => req(`m${i}`, o));
    const out = await inst.send(batch);
    expect(out.every((o) => o.status === "sent" && o.providerId !== undefined)).toBe(true);
    const d = fake.deliveries();
    expect(d.map((x) => x.openid).sort()).toEqual([...FOLLOWERS].sort());
    for (const r of batch) expect(d.find((x) => x.openid === r.address)?.clientMsgId).toBe(r.dedupeId);
    expect(d[0].data).toEqual({ thing1: "生日礼券", time3: "2026-11-30 22:00" });
    expect(fake.state.tokens.issued.map((t) => t.subject)).toEqual([`s:${APP}`]);
  });

  it("can use /cgi-bin/token instead", async () => {
    const { fake, inst } = await setup({}, { options: { token_endpoint: "token" } });
    expect((await inst.send([req("m1", "o_f1")]))[0].status).toBe("sent");
    expect(fake.state.tokens.issued.map((t) => t.subject)).toEqual([`t:${APP}`]);
  });

  it("refreshes on 40001 (another holder refreshed) and on 42001, without duplicates", async () => {
    const { fake, inst } = await setup({ tokenMaxUses: 2 });
    const batch = FOLLOWERS.map((o, i) => req(`m${i}`, o));
    expect((await inst.send(batch.slice(0, 1)))[0].status).toBe("sent");
    fake.revokeTokens(APP);
    expect((await inst.send(batch.slice(1, 2)))[0].status).toBe("sent");
    expect(fake.state.calls.length).toBe(2);
    const rest = await inst.send(batch.slice(2)); // the second token runs out of uses: 42001 → refresh
    expect(rest.every((o) => o.status === "sent")).toBe(true);
    const ids = fake.deliveries().map((x) => x.openid);
    expect(ids.sort()).toEqual([...FOLLOWERS].sort());
    expect(fake.state.tokens.issued).toHaveLength(3);
    expect(fake.state.calls.filter((c) => c.errcode !== 0)).toEqual([]);
  });

  it("re-sends after accept-then-drop within 10 minutes and the provider delivers once", async () => {
    const { fake, inst, clock } = await setup();
    const r = req("m1", "o_f1");
    fake.script(fault.acceptThenDrop());
    const [o] = await inst.send([r]);
    expect(o).toMatchObject({ status: "failed", class: "ambiguous", code: "reset" });
    expect(fake.deliveries()).toHaveLength(1);
    clock.advance(3 * 60_000);
    const [rec] = await inst.reconcile!([r]);
    expect(rec).toEqual({ status: "sent", providerId: String(fake.deliveries()[0].msgid) });
    const [again] = await inst.send([r]); // a runner retry inside the window is deduplicated too
    expect(again.status).toBe("sent");
    expect(fake.deliveries()).toHaveLength(1);
  });

  it("answers undefined once the 10-minute window has passed, and for requests it never sent", async () => {
    const { fake, inst, clock } = await setup();
    const r = req("m1", "o_f1");
    expect((await inst.send([req("m3", "o_f3")]))[0].status).toBe("sent"); // warms the shared token cache
    const small = wechatTemplate.create({
      channel: "t",
      secrets: { app_id: APP, app_secret: SECRET },
      baseUrl: fake.url,
      options: {},
      now: clock.now,
      timeoutMs: 400,
      root: "/tmp",
    });
    instances.push(small);
    fake.script(fault.slow(10_000));
    const [o] = await small.send([r]);
    expect(o).toMatchObject({ status: "failed", class: "ambiguous", code: "timeout" });
    clock.advance(10 * 60_000);
    expect(await small.reconcile!([r])).toEqual([undefined]);
    expect(await inst.reconcile!([req("m2", "o_f2")])).toEqual([undefined]);
    expect(fake.deliveries().filter((d) => d.openid === "o_f1")).toHaveLength(1);
  });

  it("maps the error table of docs/channels.md, `wechat-template`", async () => {
    const { fake, inst, clock } = await setup({ rateLimit: { perMinute: 100 }, recipientErrors: { o_f4: -1 } });
    const cases: [SendRequest, Partial<SendOutcome> & Record<string, unknown>][] = [
      [req("a", "o_unknown"), { class: "recipient", code: "40003" }],
      [req("b", "o_gone"), { class: "recipient", code: "43004" }],
      [req("c", "o_f1", content(undefined, "tpl_nope")), { class: "request", code: "40037" }],
      [req("d", "o_f1", content({ thing1: "x" }, "tpl_restricted")), { class: "stop", code: "43116" }],
      [req("e", "o_f1", content({ thing1: "x" }, "tpl_ad")), { class: "request", code: "40249" }],
      [req("f", "o_f4"), { class: "retry", code: "-1" }],
    ];
    const out = await inst.send(cases.map((c) => c[0]));
    cases.forEach(([, want], i) => expect(out[i]).toMatchObject({ status: "failed", ...want }));
    expect(fake.deliveries()).toHaveLength(0);
    void clock;
  });

  it("classifies 47003 as recipient when the bad value is member-specific, else request", async () => {
    const { inst } = await setup();
    const long = "这是一个超过二十个字符的非常非常非常长的礼券名称啊";
    const personal = await inst.send([
      req("a", "o_f1", content({ thing1: long, time3: "10:00" })),
      req("b", "o_f2", content({ thing1: "礼券", time3: "10:00" })),
    ]);
    expect(personal[0]).toMatchObject({ status: "failed", class: "recipient", code: "47003" });
    expect(personal[1].status).toBe("sent");
    const shared = await inst.send([
      req("c", "o_f3", content({ thing1: "礼券", time3: "明天" })),
      req("d", "o_f4", content({ thing1: "礼券2", time3: "明天" })),
    ]);
    for (const o of shared) expect(o).toMatchObject({ status: "failed", class: "request", code: "47003" });
  });

  it("defers on minute and daily quotas", async () => {
    const { inst, clock } = await setup({ rateLimit: { perMinute: 1 }, dailyQuota: 2 });
    expect((await inst.send([req("a", "o_f1")]))[0].status).toBe("sent");
    expect((await inst.send([req("b", "o_f2")]))[0]).toMatchObject({ class: "defer", code: "45011", notBefore: clock.now() + 60_000 });
    clock.advance(60_000);
    expect((await inst.send([req("b", "o_f2")]))[0].status).toBe("sent");
    clock.advance(60_000);
    const [d] = await inst.send([req("c", "o_f3")]);
    expect(d).toMatchObject({ status: "failed", class: "defer", code: "45009" });
    // 2026-11-24T02:02Z is 10:02 in Shanghai; the quota resets at 2026-11-25T00:00+08:00.
    expect((d as { notBefore: number }).notBefore).toBe(Date.parse("2026-11-25T00:00:00+08:00"));
  });

  it("classifies 5xx as retry, a non-JSON body as ambiguous", async () => {
    const { fake, inst } = await setup();
    fake.script(fault.http(502), fault.badJson());
    expect((await inst.send([req("a", "o_f1")]))[0]).toMatchObject({ class: "retry", code: "-1" });
    expect((await inst.send([req("a", "o_f1")]))[0]).toMatchObject({ class: "ambiguous", code: "http_200" });
    expect(fake.faults().map((f) => f.fault.kind)).toEqual(["http", "badJson"]);
  });

  it("stops on a bad secret and never shows a secret in any outcome", async () => {
    const all: (SendOutcome | undefined)[] = [];
    const bad = await setup({}, { secret: "not-the-right-secret-xyz" });
    const [o] = await bad.inst.send([req("a", "o_f1")]);
    expect(o).toMatchObject({ status: "failed", class: "stop", code: "40125" });
    all.push(o);
    const good = await setup();
    good.fake.script(fault.http(500), fault.reset(), fault.acceptThenDrop(), fault.badJson(), fault.error(43116), fault.error(40001), fault.error(40001));
    for (let i = 0; i < 7; i++) all.push(...(await good.inst.send([req(`m${i}`, "o_f1")])));
    all.push(...(await good.inst.reconcile!([req("m0", "o_f1")])));
    expect(all.some((x) => x?.status === "failed" && x.class === "stop" && x.code === "40001")).toBe(true);
    const text = JSON.stringify(all);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain("not-the-right-secret-xyz");
  });
});
