import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import wechatSubscribe from "./wechat-subscribe.js";
import type { DriverInstance, SendOutcome, SendRequest } from "./types.js";
import type { SubscribeMessageContent } from "../content/types.js";
import { type WechatFake, type WechatFakeOptions, startWechatFake } from "../../test/fakes/wechat.js";
import { fault, manualClock } from "../../test/fakes/common.js";

const APP = "wx_mini_app_01";
const SECRET = "mini-secret-abcdefghijklmnop";
const TPL = "sub_tpl_birthday";
const USERS = ["ou_1", "ou_2", "ou_3"];

function content(
  extra: Partial<SubscribeMessageContent> = {},
  data: Record<string, string> = { thing1: "生日礼券", date2: "2026-11-30" },
): SubscribeMessageContent {
  return { kind: "subscribe_message", template_id: TPL, page: "pages/coupon/index?id=BDAY50", data, ...extra };
}

function req(member: string, address: string, c: SubscribeMessageContent = content(), occurrence = "2026-11-24T10:00:00+08:00"): SendRequest {
  const key = `birthday|${occurrence}|${member}|subscribe`;
  return {
    key,
    dedupeId: createHash("sha256").update(key).digest("hex").slice(0, 32),
    campaign: "birthday",
    occurrence,
    member,
    channel: "subscribe",
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
    users: USERS,
    subscribeTemplates: { [TPL]: { keys: ["thing1", "date2"] }, tpl_banned: { keys: ["thing1"], banned: true } },
    pages: ["pages/coupon/index", "pages/home"],
    consents: Object.fromEntries(USERS.map((u) => [`${u}|${TPL}`, 1])),
    sensitiveWords: ["赌博"],
    clock: clock.now,
    ...opts,
  });
  fakes.push(fake);
  const inst = wechatSubscribe.create({
    channel: "subscribe",
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

describe("wechat-subscribe driver against the loopback fake", () => {
  it("declares its contract and has no reconcile", async () => {
    expect(wechatSubscribe.name).toBe("wechat-subscribe");
    expect(wechatSubscribe.contentKind).toBe("subscribe_message");
    expect(wechatSubscribe.secrets).toEqual(["app_id", "app_secret"]);
    const { inst } = await setup();
    expect(inst.reconcile).toBeUndefined();
  });

  it("sends to consenting users, always with miniprogram_state and lang", async () => {
    const { fake, inst } = await setup();
    const out = await inst.send([req("a", "ou_1"), req("b", "ou_2", content({ miniprogram_state: "trial", lang: "en_US" }))]);
    expect(out.map((o) => o.status)).toEqual(["sent", "sent"]);
    const d = fake.subscribeDeliveries();
    expect(d.map((x) => [x.openid, x.miniprogramState, x.lang, x.page])).toEqual([
      ["ou_1", "formal", "zh_CN", "pages/coupon/index?id=BDAY50"],
      ["ou_2", "trial", "en_US", "pages/coupon/index?id=BDAY50"],
    ]);
    expect(d[0].data).toEqual({ thing1: "生日礼券", date2: "2026-11-30" });
  });

  it("takes miniprogram_state and lang defaults from the channel options", async () => {
    const { fake, inst } = await setup({}, { options: { miniprogram_state: "developer", lang: "zh_TW" } });
    await inst.send([req("a", "ou_1")]);
    expect(fake.subscribeDeliveries().map((x) => [x.miniprogramState, x.lang])).toEqual([["developer", "zh_TW"]]);
  });

  it("a spent consent answers 43101 → recipient, and nothing is delivered twice", async () => {
    const { fake, inst } = await setup();
    expect((await inst.send([req("a", "ou_1")]))[0].status).toBe("sent");
    const [o] = await inst.send([req("a", "ou_1", content(), "2026-11-25T10:00:00+08:00")]);
    expect(o).toMatchObject({ status: "failed", class: "recipient", code: "43101" });
    expect(fake.subscribeDeliveries()).toHaveLength(1);
    expect(fake.state.consents.get(`ou_1|${TPL}`)).toBe(0);
  });

  it("sends to one openid one after another within a batch", async () => {
    const { fake, inst } = await setup();
    fake.grantConsent("ou_3", TPL, 1); // two consents
    const out = await inst.send([
      req("a", "ou_3"),
      req("b", "ou_3", content(), "2026-11-25T10:00:00+08:00"),
      req("c", "ou_3", content(), "2026-11-26T10:00:00+08:00"),
    ]);
    expect(out.map((o) => (o.status === "failed" ? o.code : o.status))).toEqual(["sent", "sent", "43101"]);
    expect(fake.state.calls.map((c) => c.errcode)).toEqual([0, 0, 43101]);
  });

  it("maps the error table of docs/channels.md, `wechat-subscribe`", async () => {
    const { fake, inst } = await setup({ recipientErrors: { ou_3: 43108 } });
    const cases: [SendRequest, Record<string, unknown>][] = [
      [req("a", "ou_nobody"), { class: "recipient", code: "40003" }],
      [req("b", "ou_1", content({ template_id: "nope" })), { class: "request", code: "40037" }],
      [req("c", "ou_1", content({ page: "pages/missing" })), { class: "request", code: "41030" }],
      [req("d", "ou_1", content({ template_id: "tpl_banned" }, { thing1: "x" })), { class: "stop", code: "43107" }],
      [req("e", "ou_2", content({}, { thing1: "赌博礼券", date2: "2026-11-30" })), { class: "request", code: "45168" }],
      [req("f", "ou_3"), { class: "retry", code: "43108" }],
    ];
    const out = await inst.send(cases.map((c) => c[0]));
    cases.forEach(([, want], i) => expect(out[i]).toMatchObject({ status: "failed", ...want }));
    expect(fake.subscribeDeliveries()).toHaveLength(0);
  });

  it("classifies rate limits, 5xx, -1 and a dropped answer", async () => {
    const { fake, inst, clock } = await setup({ rateLimit: { perMinute: 1 } });
    fake.grantConsent("ou_1", TPL, 5);
    expect((await inst.send([req("a", "ou_1")]))[0].status).toBe("sent");
    expect((await inst.send([req("b", "ou_1")]))[0]).toMatchObject({ class: "defer", code: "45011", notBefore: clock.now() + 60_000 });
    clock.advance(60_000);
    fake.script(fault.http(503), fault.error(-1), fault.acceptThenDrop());
    expect((await inst.send([req("b", "ou_1")]))[0]).toMatchObject({ class: "retry", code: "-1" });
    expect((await inst.send([req("b", "ou_1")]))[0]).toMatchObject({ class: "retry", code: "-1" });
    expect((await inst.send([req("b", "ou_1")]))[0]).toMatchObject({ class: "ambiguous", code: "reset" });
    expect(fake.subscribeDeliveries()).toHaveLength(2);
  });

  it("47003 names the field; member-specific values are recipient failures", async () => {
    const { inst } = await setup();
    const out = await inst.send([
      req("a", "ou_1", content({}, { thing1: "礼券", date2: "不是日期" })),
      req("b", "ou_2", content({}, { thing1: "礼券", date2: "2026-11-30" })),
    ]);
    expect(out[0]).toMatchObject({ status: "failed", class: "recipient", code: "47003" });
    expect((out[0] as { message: string }).message).toContain("data.date2");
    expect(out[1].status).toBe("sent");
  });

  it("never shows a secret in any outcome", async () => {
    const all: SendOutcome[] = [];
    const bad = await setup({}, { secret: "definitely-wrong-secret" });
    all.push(...(await bad.inst.send([req("a", "ou_1")])));
    expect(all[0]).toMatchObject({ class: "stop", code: "40125" });
    const good = await setup();
    good.fake.script(fault.http(500), fault.reset(), fault.badJson(), fault.error(42001), fault.error(42001));
    for (let i = 0; i < 5; i++) all.push(...(await good.inst.send([req("a", "ou_2")])));
    expect(all.some((o) => o.status === "failed" && o.class === "stop" && o.code === "42001")).toBe(true);
    const text = JSON.stringify(all);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain("definitely-wrong-secret");
  });
});
