import { afterEach, describe, expect, it } from "vitest";
import { type WecomFake, type WecomFakeOptions, startWecomFake } from "./wecom.js";
import { fault, manualClock } from "./common.js";

const fakes: WecomFake[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.close();
});

async function start(opts: WecomFakeOptions = {}) {
  const clock = manualClock();
  const fake = await startWecomFake({ corpId: "corp", secret: "sekret", staff: { zs: ["c1", "c2", "c3"], ls: ["c4"] }, clock: clock.now, ...opts });
  fakes.push(fake);
  const get = async (path: string) => (await fetch(`${fake.url}${path}`)).json() as Promise<Record<string, unknown>>;
  const token = async () => (await get("/cgi-bin/gettoken?corpid=corp&corpsecret=sekret")).access_token as string;
  const post = async (path: string, body: unknown, tok?: string) => {
    const q = tok === undefined ? "" : `?access_token=${encodeURIComponent(tok)}`;
    const r = await fetch(`${fake.url}/cgi-bin/externalcontact/${path}${q}`, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) });
    return r.json() as Promise<Record<string, unknown>>;
  };
  return { fake, clock, get, token, post };
}

describe("wecom fake", () => {
  it("checks gettoken credentials with WeCom's codes", async () => {
    const { get } = await start();
    expect((await get("/cgi-bin/gettoken?corpsecret=sekret")).errcode).toBe(41002);
    expect((await get("/cgi-bin/gettoken?corpid=corp")).errcode).toBe(41004);
    expect((await get("/cgi-bin/gettoken?corpid=x&corpsecret=sekret")).errcode).toBe(40013);
    expect((await get("/cgi-bin/gettoken?corpid=corp&corpsecret=bad")).errcode).toBe(40001);
    const ok = await get("/cgi-bin/gettoken?corpid=corp&corpsecret=sekret");
    expect(ok).toMatchObject({ errcode: 0, errmsg: "ok", expires_in: 7200 });
    expect(typeof ok.access_token).toBe("string");
  });

  it("answers 41001 / 40014 / 42001 for missing, unknown and expired tokens", async () => {
    const { token, post, clock } = await start({ tokenTtlSeconds: 60 });
    const body = { external_userid: ["c1"], sender: "zs", text: { content: "hi" } };
    expect((await post("add_msg_template", body)).errcode).toBe(41001);
    expect((await post("add_msg_template", body, "bogus")).errcode).toBe(40014);
    const t = await token();
    clock.advance(60_000);
    expect((await post("add_msg_template", body, t)).errcode).toBe(42001);
  });

  it("validates add_msg_template bodies (§3.3)", async () => {
    const { token, post, fake } = await start();
    const t = await token();
    const base = { external_userid: ["c1"], sender: "zs" };
    expect((await post("add_msg_template", "{not json", t)).errcode).toBe(47001);
    expect((await post("add_msg_template", { ...base }, t)).errcode).toBe(44004);
    expect((await post("add_msg_template", { ...base, chat_type: "nope", text: { content: "x" } }, t)).errcode).toBe(40058);
    expect((await post("add_msg_template", { ...base, text: { content: "字".repeat(1334) } }, t)).errcode).toBe(45002);
    expect((await post("add_msg_template", { ...base, text: { content: "字".repeat(1333) } }, t)).errcode).toBe(0);
    const link = { msgtype: "link", link: { title: "t", url: "https://e.com" } };
    expect((await post("add_msg_template", { ...base, attachments: Array(10).fill(link) }, t)).errcode).toBe(40058);
    expect((await post("add_msg_template", { ...base, attachments: Array(9).fill(link) }, t)).errcode).toBe(0);
    expect((await post("add_msg_template", { ...base, attachments: [{ msgtype: "audio", audio: {} }] }, t)).errcode).toBe(40008);
    expect((await post("add_msg_template", { ...base, attachments: [{ msgtype: "image" }] }, t)).errcode).toBe(40008);
    expect((await post("add_msg_template", { ...base, attachments: [{ msgtype: "link", link: { title: "t" } }] }, t)).errcode).toBe(40058);
    expect((await post("add_msg_template", { ...base, sender: "nobody", text: { content: "x" } }, t)).errcode).toBe(40003);
    const many = Array.from({ length: 10_001 }, (_, i) => `x${i}`);
    expect((await post("add_msg_template", { external_userid: many, sender: "zs", text: { content: "x" } }, t)).errcode).toBe(40058);
    expect(fake.deliveries()).toHaveLength(2);
  });

  it("puts unknown ids and other staff's customers in fail_list", async () => {
    const { token, post, fake } = await start();
    const r = await post("add_msg_template", { external_userid: ["c1", "c4", "zz"], sender: "zs", text: { content: "x" } }, await token());
    expect(r).toMatchObject({ errcode: 0, fail_list: ["c4", "zz"] });
    expect(fake.deliveries().map((d) => [d.externalUserid, d.msgid])).toEqual([["c1", r.msgid]]);
  });

  it("plays the staff confirmation under a cap policy, and the records APIs report it", async () => {
    const { token, post, fake, clock } = await start({ capPolicy: "4/month", recordsDelayMs: 5_000 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await post("add_msg_template", { external_userid: ["c1", "c2"], sender: "zs", text: { content: `m${i}` } }, await token());
      ids.push(r.msgid as string);
      if (i < 4) fake.confirm(r.msgid as string, "zs");
      clock.advance(86_400_000);
    }
    const t = await token();
    fake.removeFriend("zs", "c2");
    expect(fake.confirm(ids[4], "ls")).toBe(false); // not this staff member's task
    expect(fake.confirm(ids[4], "zs")).toBe(true);
    const res = await post("get_groupmsg_send_result", { msgid: ids[4], userid: "zs" }, t);
    expect(res.send_list).toEqual([
      { external_userid: "c1", userid: "zs", status: 3 },
      { external_userid: "c2", userid: "zs", status: 2 },
    ]);
    const task = await post("get_groupmsg_task", { msgid: ids[4] }, t);
    expect(task.task_list).toEqual([{ userid: "zs", status: 2, send_time: Math.floor(clock.now() / 1000) }]);
    expect(fake.sent()).toHaveLength(8);

    // Right after creation the records are not ready.
    const fresh = await post("add_msg_template", { external_userid: ["c3"], sender: "zs", text: { content: "new" } }, t);
    expect((await post("get_groupmsg_task", { msgid: fresh.msgid }, t)).errcode).toBe(41063);
    clock.advance(5_000);
    expect((await post("get_groupmsg_task", { msgid: fresh.msgid }, t)).task_list).toEqual([{ userid: "zs", status: 0 }]);
  });

  it("lists tasks in a window of at most a month, paged", async () => {
    const { token, post, clock } = await start();
    const t = await token();
    for (let i = 0; i < 3; i++) await post("add_msg_template", { external_userid: ["c1"], sender: "zs", text: { content: `m${i}` } }, t);
    const now = Math.floor(clock.now() / 1000);
    expect((await post("get_groupmsg_list_v2", { chat_type: "single", start_time: now - 40 * 86400, end_time: now }, t)).errcode).toBe(40058);
    const p1 = await post("get_groupmsg_list_v2", { chat_type: "single", start_time: now - 60, end_time: now + 60, limit: 2 }, t);
    expect((p1.group_msg_list as unknown[]).length).toBe(2);
    const p2 = await post("get_groupmsg_list_v2", { chat_type: "single", start_time: now - 60, end_time: now + 60, limit: 2, cursor: p1.next_cursor }, t);
    expect(p2.group_msg_list).toHaveLength(1);
    expect(p2.next_cursor).toBe("");
    expect((p2.group_msg_list as { creator?: string; text: { content: string } }[])[0].creator).toBeUndefined();
  });

  it("answers the configured rate limit with 45009", async () => {
    const { token, post } = await start({ rateLimit: { perMinute: 2 } });
    const t = await token();
    const body = { external_userid: ["c1"], sender: "zs", text: { content: "x" } };
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await post("add_msg_template", body, t)).errcode);
    expect(codes).toEqual([0, 0, 45009]);
  });

  it("accept-then-drop records the task and answers nothing; the fault is logged", async () => {
    const { token, post, fake } = await start();
    const t = await token();
    fake.script(fault.acceptThenDrop());
    await expect(post("add_msg_template", { external_userid: ["c1"], sender: "zs", text: { content: "x" } }, t)).rejects.toThrow();
    expect(fake.deliveries()).toHaveLength(1);
    expect(fake.faults()).toHaveLength(1);
    expect(fake.faults()[0]).toMatchObject({ path: "/cgi-bin/externalcontact/add_msg_template", fault: { kind: "acceptThenDrop" } });
  });

  it("does not fault token requests at a random rate", async () => {
    const { get, fake } = await start({ faultRate: 1, seed: 3 });
    for (let i = 0; i < 5; i++) expect((await get("/cgi-bin/gettoken?corpid=corp&corpsecret=sekret")).errcode).toBe(0);
    expect(fake.faults()).toHaveLength(0);
  });
});
