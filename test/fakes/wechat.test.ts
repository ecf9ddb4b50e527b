import { afterEach, describe, expect, it } from "vitest";
import { type WechatFake, type WechatFakeOptions, checkTypedValue, startWechatFake } from "./wechat.js";
import { manualClock } from "./common.js";

const fakes: WechatFake[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.close();
});

async function start(opts: WechatFakeOptions = {}) {
  const clock = manualClock();
  const fake = await startWechatFake({
    apps: { app1: "sec1" },
    followers: ["f1"],
    unfollowed: ["u1"],
    templates: { T: { keys: ["thing1", "time2"] } },
    users: ["m1"],
    subscribeTemplates: { S: { keys: ["phrase1"] } },
    pages: ["pages/index"],
    consents: { "m1|S": 1 },
    clock: clock.now,
    ...opts,
  });
  fakes.push(fake);
  const json = async (r: Response) => r.json() as Promise<Record<string, unknown>>;
  const stable = async (force = false, secret = "sec1") =>
    json(
      await fetch(`${fake.url}/cgi-bin/stable_token`, {
        method: "POST",
        body: JSON.stringify({ grant_type: "client_credential", appid: "app1", secret, force_refresh: force }),
      }),
    );
  const plain = async () => json(await fetch(`${fake.url}/cgi-bin/token?grant_type=client_credential&appid=app1&secret=sec1`));
  const send = async (kind: "template" | "subscribe", tok: string, body: unknown) =>
    json(await fetch(`${fake.url}/cgi-bin/message/${kind}/send?access_token=${tok}`, { method: "POST", body: JSON.stringify(body) }));
  return { fake, clock, stable, plain, send };
}

describe("§6.2 value rules", () => {
  it.each([
    ["thing1", "生日礼券", undefined],
    ["thing1", "一二三四五六七八九十一二三四五六七八九十一", "invalid"],
    ["thing1", "两行\n文字", "invalid"],
    ["thing1", "", "empty"],
    ["number2", "12.50", undefined],
    ["number2", "12a", "invalid"],
    ["letter3", "abc", undefined],
    ["letter3", "ab1", "invalid"],
    ["symbol4", "%$#", undefined],
    ["symbol4", "a%", "invalid"],
    ["character_string5", "BDAY-50", undefined],
    ["character_string5", "礼券", "invalid"],
    ["time6", "15:01", undefined],
    ["time6", "2019年10月1日 15:01", undefined],
    ["time6", "15:01~16:00", undefined],
    ["time6", "明天", "invalid"],
    ["date7", "2019-10-01 15:01", undefined],
    ["date7", "2018/01/01", undefined],
    ["date7", "01-01", undefined],
    ["date7", "下周", "invalid"],
    ["amount8", "¥214.00", undefined],
    ["amount8", "¥50元", undefined],
    ["amount8", "五十元", "invalid"],
    ["phone_number9", "+86-0766-66888866", undefined],
    ["phone_number9", "+86-0766-668888661234", "invalid"],
    ["car_number10", "粤A8Z888挂", undefined],
    ["car_number10", "粤A8Z888挂1", "invalid"],
    ["name11", "王小明", undefined],
    ["name11", "王小明王小明王小明王小", "invalid"],
    ["name11", "Alexander Hamilton", undefined],
    ["phrase12", "配送中", undefined],
    ["phrase12", "配送中abc", "invalid"],
    ["keyword1", "anything at all, long or short", undefined],
  ])("%s = %j → %s", (key, value, want) => {
    expect(checkTypedValue(key, value)).toBe(want);
  });

  it("checks enum values against the template's list", () => {
    expect(checkTypedValue("enum1", "A", ["A", "B"])).toBeUndefined();
    expect(checkTypedValue("enum1", "C", ["A", "B"])).toBe("invalid");
  });
});

describe("wechat fake", () => {
  it("checks token credentials and keeps a stable token stable", async () => {
    const { stable, fake } = await start();
    expect((await stable(false, "wrong")).errcode).toBe(40125);
    const a = await stable();
    const b = await stable();
    expect(a.access_token).toBe(b.access_token);
    expect(a.expires_in).toBe(7200);
    const c = await stable(true);
    expect(c.access_token).not.toBe(a.access_token);
    expect((await (await fetch(`${fake.url}/cgi-bin/token?grant_type=client_credential&appid=nope&secret=x`)).json()).errcode).toBe(40013);
  });

  it("/cgi-bin/token: a new token leaves the previous one five minutes", async () => {
    const { plain, send, clock } = await start();
    const body = { touser: "f1", template_id: "T", data: { thing1: { value: "礼券" }, time2: { value: "10:00" } } };
    const a = (await plain()).access_token as string;
    const b = (await plain()).access_token as string;
    expect((await send("template", a, body)).errcode).toBe(0);
    clock.advance(5 * 60_000);
    expect((await send("template", a, body)).errcode).toBe(42001);
    expect((await send("template", b, body)).errcode).toBe(0);
  });

  it("validates template sends with WeChat's codes", async () => {
    const { stable, send, fake } = await start();
    const t = (await stable()).access_token as string;
    const data = { thing1: { value: "礼券" }, time2: { value: "10:00" } };
    expect((await send("template", "bogus", { touser: "f1", template_id: "T", data })).errcode).toBe(40001);
    expect((await send("template", t, { touser: "x", template_id: "T", data })).errcode).toBe(40003);
    expect((await send("template", t, { touser: "u1", template_id: "T", data })).errcode).toBe(43004);
    expect((await send("template", t, { touser: "f1", template_id: "Z", data })).errcode).toBe(40037);
    const missing = await send("template", t, { touser: "f1", template_id: "T", data: { thing1: { value: "礼券" } } });
    expect(missing).toEqual({ errcode: 47003, errmsg: "argument invalid! data.time2.value is emtpy" });
    const bad = await send("template", t, { touser: "f1", template_id: "T", data: { ...data, time2: { value: "soon" } } });
    expect(bad.errmsg).toContain("data.time2.value invalid");
    expect((await send("template", t, { touser: "f1", template_id: "T", url: "x".repeat(1025), data })).errcode).toBe(40039);
    expect(fake.deliveries()).toHaveLength(0);
  });

  it("deduplicates (openid, client_msg_id) for 10 minutes of fake time", async () => {
    const { stable, send, fake, clock } = await start();
    const t = (await stable()).access_token as string;
    const body = { touser: "f1", template_id: "T", client_msg_id: "abc", data: { thing1: { value: "礼券" }, time2: { value: "10:00" } } };
    const first = await send("template", t, body);
    clock.advance(9 * 60_000);
    const second = await send("template", t, body);
    expect(second).toEqual({ errcode: 0, errmsg: "ok", msgid: first.msgid });
    expect(fake.deliveries()).toHaveLength(1);
    clock.advance(60_000);
    const third = await send("template", t, body);
    expect(third.msgid).not.toBe(first.msgid);
    expect(fake.deliveries()).toHaveLength(2);
  });

  it("answers 45009 once the daily quota is reached", async () => {
    const { stable, send } = await start({ dailyQuota: 1 });
    const t = (await stable()).access_token as string;
    const body = { touser: "f1", template_id: "T", data: { thing1: { value: "礼券" }, time2: { value: "10:00" } } };
    expect((await send("template", t, body)).errcode).toBe(0);
    expect((await send("template", t, body)).errcode).toBe(45009);
  });

  it("spends one-time consents and checks page, state and lang on subscribe sends", async () => {
    const { stable, send, fake } = await start();
    const t = (await stable()).access_token as string;
    const body = {
      touser: "m1",
      template_id: "S",
      page: "pages/index?x=1",
      miniprogram_state: "formal",
      lang: "zh_CN",
      data: { phrase1: { value: "配送中" } },
    };
    expect((await send("subscribe", t, { ...body, page: "pages/nope" })).errcode).toBe(41030);
    expect((await send("subscribe", t, { ...body, miniprogram_state: "prod" })).errcode).toBe(47003);
    expect((await send("subscribe", t, { ...body, lang: "fr" })).errcode).toBe(47003);
    expect((await send("subscribe", t, { ...body, data: { phrase1: { value: "配送中了吗啊啊" } } })).errcode).toBe(47003);
    expect(await send("subscribe", t, body)).toEqual({ errcode: 0, errmsg: "ok" });
    expect((await send("subscribe", t, body)).errcode).toBe(43101);
    fake.grantConsent("m1", "S");
    expect((await send("subscribe", t, body)).errcode).toBe(0);
    expect(fake.subscribeDeliveries()).toHaveLength(2);
  });
});
