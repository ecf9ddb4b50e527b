import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import wecom from "./wecom.js";
import type { DriverInstance, SendOutcome, SendRequest } from "./types.js";
import type { WecomContent } from "../content/types.js";
import { type WecomFake, type WecomFakeOptions, startWecomFake } from "../../test/fakes/wecom.js";
import { fault, manualClock } from "../../test/fakes/common.js";

const CORP = "ww_corp_01";
const SECRET = "S3cr3t-wecom-corpsecret-value";

const STAFF = {
  zhangsan: ["wm_a1", "wm_a2", "wm_a3", "wm_a4", "wm_a5"],
  lisi: ["wm_b1", "wm_b2", "wm_b3", "wm_b4", "wm_b5"],
};

const TEXT: WecomContent = {
  kind: "wecom",
  text: "王先生您好，会员日礼券已到账",
  attachments: [{ msgtype: "link", link: { title: "会员日", url: "https://example.com/m" } }],
};

function req(member: string, address: string, sender: string | undefined, content: WecomContent = TEXT): SendRequest {
  const key = `birthday|2026-11-24T10:00:00+08:00|${member}|wecom`;
  return {
    key,
    dedupeId: createHash("sha256").update(key).digest("hex").slice(0, 32),
    campaign: "birthday",
    occurrence: "2026-11-24T10:00:00+08:00",
    member,
    channel: "wecom",
    address,
    sender,
    content,
  };
}

const fakes: WecomFake[] = [];
const instances: DriverInstance[] = [];
afterEach(async () => {
  for (const i of instances.splice(0)) await i.close();
  for (const f of fakes.splice(0)) await f.close();
});

async function setup(opts: WecomFakeOptions = {}, drv: { secret?: string; timeoutMs?: number; options?: Record<string, unknown> } = {}) {
  const clock = manualClock();
  const fake = await startWecomFake({ corpId: CORP, secret: SECRET, staff: STAFF, clock: clock.now, ...opts });
  fakes.push(fake);
  const inst = wecom.create({
    channel: "wecom",
    secrets: { corp_id: CORP, secret: drv.secret ?? SECRET },
    baseUrl: fake.url,
    options: drv.options ?? {},
    now: clock.now,
    timeoutMs: drv.timeoutMs ?? 5000,
    root: "/tmp",
  });
  instances.push(inst);
  return { fake, inst, clock };
}

const allMembers = () => [...STAFF.zhangsan.map((id, i) => req(`m_a${i}`, id, "zhangsan")), ...STAFF.lisi.map((id, i) => req(`m_b${i}`, id, "lisi"))];

describe("wecom driver against the loopback fake", () => {
  it("declares its contract", () => {
    expect(wecom.name).toBe("wecom");
    expect(wecom.contentKind).toBe("wecom");
    expect(wecom.batchLimit).toBe(10_000);
    expect(wecom.batchSameContent).toBe(true);
    expect(wecom.secrets).toEqual(["corp_id", "secret"]);
  });

  it("creates one task per sender and queues every customer", async () => {
    const { fake, inst } = await setup();
    const batch = allMembers();
    const out = await inst.send(batch);
    expect(out.map((o) => o.status)).toEqual(batch.map(() => "queued"));
    expect(fake.state.createCalls.map((c) => [c.sender, c.count, c.errcode]).sort()).toEqual([
      ["lisi", 5, 0],
      ["zhangsan", 5, 0],
    ]);
    const a = out[0] as { providerId: string };
    const b = out[5] as { providerId: string };
    expect(a.providerId).not.toBe(b.providerId);
    expect(fake.state.tasks.get(a.providerId)?.text).toBe(TEXT.text);
    expect(
      fake
        .deliveries()
        .map((d) => d.externalUserid)
        .sort(),
    ).toEqual(batch.map((r) => r.address).sort());
    expect(fake.state.tokens.issued).toHaveLength(1);
  });

  it("shares one cached token between instances of the same app, fetched once", async () => {
    const { fake, inst, clock } = await setup();
    const twin = wecom.create({
      channel: "wecom",
      secrets: { corp_id: CORP, secret: SECRET },
      baseUrl: fake.url,
      options: {},
      now: clock.now,
      timeoutMs: 5000,
      root: "/tmp",
    });
    instances.push(twin);
    const batch = allMembers();
    const [a, b] = await Promise.all([inst.send(batch.slice(0, 5)), twin.send(batch.slice(5))]);
    expect([...a, ...b].every((o) => o.status === "queued")).toBe(true);
    expect(fake.state.tokens.issued).toHaveLength(1);
  });

  it("splits one sender's batch by content", async () => {
    const { fake, inst } = await setup();
    const other: WecomContent = { kind: "wecom", text: "另一条", attachments: [] };
    const out = await inst.send([req("m1", "wm_a1", "zhangsan"), req("m2", "wm_a2", "zhangsan", other), req("m3", "wm_a3", "zhangsan")]);
    expect(out.every((o) => o.status === "queued")).toBe(true);
    expect(fake.state.createCalls).toHaveLength(2);
    expect((out[0] as { providerId: string }).providerId).toBe((out[2] as { providerId: string }).providerId);
  });

  it("refreshes a token that expires mid-run (42001) and completes without duplicates", async () => {
    const { fake, inst } = await setup();
    const batch = allMembers();
    const first = await inst.send(batch.slice(0, 5));
    fake.state.tokens.expireAll();
    const second = await inst.send(batch.slice(5));
    expect([...first, ...second].every((o) => o.status === "queued")).toBe(true);
    expect(fake.state.tokens.issued).toHaveLength(2);
    const ids = fake.deliveries().map((d) => d.externalUserid);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(10);
  });

  it("survives tokens that allow one use each", async () => {
    const { fake, inst } = await setup({ tokenMaxUses: 1 });
    const out = await inst.send(allMembers());
    expect(out.every((o) => o.status === "queued")).toBe(true);
    expect(fake.deliveries()).toHaveLength(10);
    expect(fake.state.tokens.issued).toHaveLength(2);
  });

  it("refreshes ahead of expiry by the injected clock", async () => {
    const { fake, inst, clock } = await setup({ tokenTtlSeconds: 600 });
    await inst.send(allMembers().slice(0, 1));
    clock.advance(200_000);
    await inst.send(allMembers().slice(1, 2));
    expect(fake.state.tokens.issued).toHaveLength(1);
    clock.advance(150_000); // 350 s > 600 − 300
    await inst.send(allMembers().slice(2, 3));
    expect(fake.state.tokens.issued).toHaveLength(2);
  });

  it("maps fail_list ids to recipient outcomes and queues the rest", async () => {
    const { fake, inst } = await setup({ recipientErrors: { wm_a3: 84061 } });
    const out = await inst.send([
      req("m1", "wm_a1", "zhangsan"),
      req("m2", "wm_unknown", "zhangsan"),
      req("m3", "wm_b1", "zhangsan"), // lisi's customer
      req("m4", "wm_a3", "zhangsan"),
    ]);
    expect(out[0].status).toBe("queued");
    for (const o of out.slice(1)) expect(o).toMatchObject({ status: "failed", class: "recipient", code: "fail_list" });
    expect(fake.deliveries().map((d) => d.externalUserid)).toEqual(["wm_a1"]);
  });

  it("splits a whole-call 40096 in halves to isolate the bad id", async () => {
    const { fake, inst } = await setup({ unknownIdMode: "40096" });
    const batch = [...STAFF.zhangsan.map((id, i) => req(`m${i}`, id, "zhangsan")), req("bad", "wm_nobody", "zhangsan")];
    const out = await inst.send(batch);
    expect(out.slice(0, 5).every((o) => o.status === "queued")).toBe(true);
    expect(out[5]).toMatchObject({ status: "failed", class: "recipient", code: "40096" });
    expect(
      fake
        .deliveries()
        .map((d) => d.externalUserid)
        .sort(),
    ).toEqual([...STAFF.zhangsan].sort());
  });

  it("classifies HTTP 5xx with a provider body as retry", async () => {
    const { fake, inst } = await setup();
    fake.script(fault.http(503));
    const out = await inst.send(allMembers().slice(0, 3));
    for (const o of out) expect(o).toMatchObject({ status: "failed", class: "retry", code: "-1" });
    expect(fake.deliveries()).toHaveLength(0);
    expect(fake.faults()[0].fault).toEqual({ kind: "http", status: 503 });
  });

  it("classifies a non-JSON answer and a timeout as ambiguous", async () => {
    const { fake, inst, clock } = await setup();
    fake.script(fault.badJson());
    const [a] = await inst.send(allMembers().slice(0, 1));
    expect(a).toMatchObject({ status: "failed", class: "ambiguous", code: "http_200" });
    // A second instance with a short timeout reuses the cached token, so only the slow send can time out.
    const quick = wecom.create({
      channel: "wecom",
      secrets: { corp_id: CORP, secret: SECRET },
      baseUrl: fake.url,
      options: {},
      now: clock.now,
      timeoutMs: 400,
      root: "/tmp",
    });
    instances.push(quick);
    fake.script(fault.slow(10_000));
    const [b] = await quick.send(allMembers().slice(1, 2));
    expect(b).toMatchObject({ status: "failed", class: "ambiguous", code: "timeout" });
  });

  it("classifies rate limits and busy codes", async () => {
    const { fake, inst, clock } = await setup({ rateLimit: { perMinute: 1 } });
    const batch = allMembers();
    expect((await inst.send(batch.slice(0, 1)))[0].status).toBe("queued");
    const [d] = await inst.send(batch.slice(1, 2));
    expect(d).toMatchObject({ status: "failed", class: "defer", code: "45009", notBefore: clock.now() + 60_000 });
    clock.advance(61_000);
    fake.script(fault.error(45033), fault.error(-1));
    expect((await inst.send(batch.slice(1, 2)))[0]).toMatchObject({ class: "retry", code: "45033" });
    expect((await inst.send(batch.slice(1, 2)))[0]).toMatchObject({ class: "retry", code: "-1" });
    expect((await inst.send(batch.slice(1, 2)))[0].status).toBe("queued");
  });

  it("fails an unknown sender as a request error and a member without owner as recipient", async () => {
    const { inst } = await setup();
    const out = await inst.send([req("m1", "wm_a1", "wangwu"), req("m2", "wm_a2", undefined)]);
    expect(out[0]).toMatchObject({ status: "failed", class: "request", code: "40003" });
    expect(out[1]).toMatchObject({ status: "failed", class: "recipient", code: "no_sender" });
  });

  it("after accept-then-drop, reconcile adopts the created task instead of creating another", async () => {
    const { fake, inst, clock } = await setup();
    const batch = allMembers().slice(0, 5);
    fake.script(fault.acceptThenDrop());
    const out = await inst.send(batch);
    for (const o of out) expect(o).toMatchObject({ status: "failed", class: "ambiguous", code: "reset" });
    expect(fake.deliveries()).toHaveLength(5);
    clock.advance(30_000);
    const rec = await inst.reconcile!(batch);
    const msgid = [...fake.state.tasks.keys()][0];
    expect(rec).toEqual(batch.map(() => ({ status: "queued", providerId: msgid })));
    expect(fake.confirm(msgid, "zhangsan")).toBe(true);
    const after = await inst.reconcile!(batch);
    expect(after).toEqual(batch.map(() => ({ status: "sent", providerId: msgid })));
    expect(fake.state.tasks.size).toBe(1);
    expect(fake.sent()).toHaveLength(5);
  });

  it("after a reset before any answer, reconcile proves nothing was created", async () => {
    const { fake, inst } = await setup();
    const batch = allMembers().slice(0, 2);
    fake.script(fault.reset());
    const out = await inst.send(batch);
    expect(out.every((o) => o.status === "failed" && o.class === "ambiguous")).toBe(true);
    const rec = await inst.reconcile!(batch);
    for (const o of rec) expect(o).toMatchObject({ status: "failed", class: "retry", code: "not_created" });
    expect(fake.deliveries()).toHaveLength(0);
  });

  it("reconcile maps status 2 (not a friend) and 3 (over the cap)", async () => {
    const { fake, inst, clock } = await setup({ capPolicy: "1/day" });
    const other: WecomContent = { kind: "wecom", text: "第二条", attachments: [] };
    const first = await inst.send([req("m1", "wm_a1", "zhangsan", other)]);
    fake.confirm((first[0] as { providerId: string }).providerId);
    clock.advance(60_000);
    const batch = [req("m1", "wm_a1", "zhangsan"), req("m2", "wm_a2", "zhangsan"), req("m3", "wm_a3", "zhangsan")];
    const out = await inst.send(batch);
    const msgid = (out[0] as { providerId: string }).providerId;
    fake.removeFriend("zhangsan", "wm_a2");
    fake.confirm(msgid, "zhangsan");
    const rec = await inst.reconcile!(batch);
    expect(rec[0]).toMatchObject({ status: "failed", class: "defer", code: "status_3" });
    expect(rec[1]).toMatchObject({ status: "failed", class: "recipient", code: "status_2" });
    expect(rec[2]).toEqual({ status: "sent", providerId: msgid });
  });

  it("reconcile answers undefined while the records are not ready (41063)", async () => {
    const { fake, inst } = await setup({ recordsDelayMs: 60_000 });
    const batch = allMembers().slice(0, 2);
    fake.script(fault.acceptThenDrop());
    await inst.send(batch);
    expect(await inst.reconcile!(batch)).toEqual([undefined, undefined]);
  });

  it("stops on a bad secret and never shows a secret in any outcome", async () => {
    const messages: SendOutcome[] = [];
    const bad = await setup({}, { secret: "WRONG-secret-value-123" });
    const [o] = await bad.inst.send(allMembers().slice(0, 1));
    expect(o).toMatchObject({ status: "failed", class: "stop", code: "40001" });
    messages.push(o);
    const good = await setup({ recipientErrors: { wm_a2: 84061 } });
    good.fake.script(fault.http(500), fault.reset(), fault.acceptThenDrop(), fault.badJson(), fault.error(40001), fault.error(48002));
    for (let i = 0; i < 7; i++) messages.push(...(await good.inst.send(allMembers().slice(0, 3))));
    messages.push(...((await good.inst.reconcile!(allMembers().slice(0, 3))).filter(Boolean) as SendOutcome[]));
    const text = JSON.stringify(messages);
    expect(messages.some((m) => m.status === "failed" && m.class === "stop")).toBe(true);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain("WRONG-secret-value-123");
    expect(text).not.toContain("access_token=");
  });
});

describe("wecom poll and cancel (queued tasks)", () => {
  it("leaves a task unconfirmed by its staff member queued; once confirmed: 1 sent, 2 not a contact (recipient), 3 over the cap", async () => {
    const { fake, inst, clock } = await setup({ capPolicy: "1/day", confirmAfterPolls: { zhangsan: 2 } });
    const reqs = STAFF.zhangsan.map((id, i) => req(`m_a${i}`, id, "zhangsan"));
    const sent = await inst.send(reqs);
    const msgid = (sent[0] as { providerId: string }).providerId;
    expect(sent.every((o) => o.status === "queued")).toBe(true);
    const queued = reqs.map((r) => ({ ...r, providerId: msgid }));
    expect(await inst.poll!(queued)).toEqual(reqs.map(() => undefined));
    // wm_a2 leaves the staff member's contacts; wm_a3 already got a mass message today.
    fake.removeFriend("zhangsan", "wm_a2");
    fake.state.received.set("wm_a3", [clock.now()]);
    const polled = await inst.poll!(queued);
    const byId = Object.fromEntries(reqs.map((r, i) => [r.address, polled[i]]));
    expect(byId.wm_a1).toEqual({ status: "sent", providerId: msgid });
    expect(byId.wm_a2).toMatchObject({ status: "failed", class: "recipient", code: "status_2" });
    expect(byId.wm_a3).toMatchObject({ status: "failed", class: "request", code: "status_3" });
    expect(byId.wm_a4).toEqual({ status: "sent", providerId: msgid });
    expect(fake.state.tasks.get(msgid)!.polls).toBe(2);
  });

  it("cancels a task: the fake records it, and the staff member can no longer send it", async () => {
    const { fake, inst } = await setup();
    const [o] = await inst.send([req("m_b0", "wm_b1", "lisi")]);
    const msgid = (o as { providerId: string }).providerId;
    expect(await inst.cancel!(msgid)).toBe(true);
    expect(fake.state.tasks.get(msgid)!.canceled).toBe(true);
    expect(fake.confirm(msgid)).toBe(false);
    expect(await inst.cancel!("msg_unknown")).toBe(false);
  });
});
