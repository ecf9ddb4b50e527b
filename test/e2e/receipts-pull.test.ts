/**
 * Delivery receipts pulled from the providers' fakes: at the end of a dispatch run for a channel with
 * `options: { pull_receipts: true }` (Aliyun QuerySendDetails, WeCom get_groupmsg_send_result), and by `chuda
 * receipts pull` (Tencent PullSmsSendStatus, WeCom); each receipt recorded once, however often it is pulled.
 */
import { afterAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { startTencentSmsFake } from "../fakes/tencent-sms.js";
import { hasStackTrace } from "./cli.js";
import Database from "better-sqlite3";
import { dispatch, makeMembers, makeRepo, run, startFakes, status, summaryOf, type Fakes, type TestRepo } from "./dispatch-helpers.js";

type Delivery = { delivered: number; failed: number; unconfirmed: number };
const open: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(open.map((f) => f.close()));
});

/** Each send's member and delivery failure code, read from the ledger. */
function ledgerDelivery(repo: TestRepo): { member: string; delivery_code: string | null }[] {
  const db = new Database(path.join(repo.dir, ".chuda/state.db"), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(`SELECT member, delivery_code FROM sends ORDER BY key`).all() as { member: string; delivery_code: string | null }[];
  } finally {
    db.close();
  }
}

/** `count` WeCom customers of one staff member, a `notice` to all of them on a channel that pulls its receipts. */
async function wecomNotice(count: number, seed: number, staff: string) {
  const members = makeMembers(count, seed, { wecom: 1, sms: 1, unsubscribed: 0 }).map((m) => ({ ...m, wecom_owner: staff }));
  const fakes = await startFakes(members, { wecom: { capPolicy: "1/day" } });
  open.push(fakes);
  const repo = makeRepo({
    channels: { wecom: { ...fakes.channels.wecom!, options: { pull_receipts: true } } },
    campaigns: [{ name: "notice", template: "notice", channels: ["wecom"], trigger: "once at 2026-12-24 10:00" }],
    members,
  });
  return { members, fakes, repo };
}

describe("receipts pulled", () => {
  it("at the end of a dispatch run, from Aliyun QuerySendDetails", async () => {
    const members = makeMembers(20, 4, { sms: 1, unsubscribed: 0 });
    // 0002 is switched off (a carrier code), 0005 blacklisted after a complaint (W-BLACK): an opt-out.
    const fakes: Fakes = await startFakes(members, { sms: { deliveryFailures: { "13900000002": "MK:0004", "13900000005": "W-BLACK" } } });
    open.push(fakes);
    const repo = makeRepo({
      channels: { sms: { ...fakes.channels.sms!, options: { pull_receipts: true } } },
      campaigns: [{ name: "notice", template: "notice", channels: ["sms"], trigger: "once at 2026-12-24 10:00" }],
      members,
    });
    const d = await dispatch(repo, "2026-12-24 10:30");
    expect(d.exitCode, d.stderr).toBe(0);
    const s = summaryOf(d) as ReturnType<typeof summaryOf> & { receipts: { channel: string; asked: number; delivered: number; failed: number }[] };
    expect(s.receipts).toEqual([{ channel: "sms", asked: 20, delivered: 18, failed: 2, unmatched: 0 }]);
    expect(((await status(repo)) as unknown as { delivery: Delivery }).delivery).toEqual({ delivered: 18, failed: 2, unconfirmed: 0 });
    const suppressed = JSON.parse((await run(repo, ["suppress", "list", "--json"])).stdout).suppressions as {
      member: string;
      channel: string;
      reason: string;
    }[];
    expect(suppressed.map((x) => [x.member, x.channel])).toEqual([["M000005", "sms"]]);
    expect(suppressed[0]!.reason).toMatch(/^W-BLACK: /);
    expect(fakes.sms.calls().filter((c) => c.action === "QuerySendDetails")).toHaveLength(20);
    // Nothing left to ask about.
    const again = await run(repo, ["receipts", "pull", "--json"]);
    expect(JSON.parse(again.stdout).channels).toEqual([{ channel: "sms", asked: 0, delivered: 0, failed: 0, unmatched: 0 }]);
  });

  it("by chuda receipts pull, from Tencent PullSmsSendStatus, once however often pulled", async () => {
    const members = makeMembers(15, 6, { sms: 1, unsubscribed: 0 });
    const fakes = await startFakes(members);
    const tencent = await startTencentSmsFake({ templates: { "1000002": { params: 0 } }, reportDelayMs: 0, deliveryFailures: { "13900000003": "MK:0005" } });
    open.push(fakes, tencent);
    const repo = makeRepo({
      channels: { sms: fakes.channels.sms!, tencent: { driver: "tencent-sms", baseUrl: tencent.url, options: { sdk_app_id: "1400000000" } } },
      campaigns: [],
      members,
    });
    writeFileSync(
      path.join(repo.dir, "templates/ping.yaml"),
      'tencent:\n  sign: "测试广场"\n  code: "1000002"\n  body: "您的积分已到账"\n  marketing: false\n',
    );
    writeFileSync(
      path.join(repo.dir, "campaigns/test.chuda"),
      'campaign ping "ping" {\n  audience member_id is set\n  trigger  once at 2026-12-24 10:00\n  content  "ping"\n  channel  tencent\n  goal     visit within 3 days\n}\n',
    );
    const d = await dispatch(repo, "2026-12-24 10:30");
    expect(d.exitCode, d.stderr).toBe(0);
    expect(summaryOf(d).sent).toBe(15);
    const p = await run(repo, ["receipts", "pull", "--channel", "tencent", "--json"]);
    expect(p.exitCode, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout).channels).toEqual([{ channel: "tencent", asked: 15, delivered: 14, failed: 1, unmatched: 0 }]);
    expect(JSON.parse(p.stdout).delivery).toEqual({ delivered: 14, failed: 1, unconfirmed: 0 });
    const again = JSON.parse((await run(repo, ["receipts", "pull", "--json"])).stdout);
    expect(again.channels.find((c: { channel: string }) => c.channel === "tencent")).toEqual({
      channel: "tencent",
      asked: 0,
      delivered: 0,
      failed: 0,
      unmatched: 0,
    });
    expect(again.delivery).toEqual({ delivered: 14, failed: 1, unconfirmed: 0 });
    const bad = await run(repo, ["receipts", "pull", "--channel", "nosuch"]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/no channel nosuch/);
    expect(hasStackTrace(bad.stderr)).toBe(false);
  });

  it("from WeCom get_groupmsg_send_result, page by page: delivered, not a friend (failed, suppressed), over the cap (failed)", async () => {
    // One staff member with more customers than a page of results holds (1000): the results come in two pages.
    const { members, fakes, repo } = await wecomNotice(1100, 9, "staff_a");
    const first = await dispatch(repo, "2026-12-24 10:30");
    expect(first.exitCode, first.stderr).toBe(0);
    expect(summaryOf(first).queued).toBe(1100);
    // The staff member has not pressed send (status 0): asked, nothing to record yet.
    const pulledAtEnd = (summaryOf(first) as unknown as { receipts: unknown[] }).receipts;
    expect(pulledAtEnd).toEqual([{ channel: "wecom", asked: 1100, delivered: 0, failed: 0, unmatched: 0 }]);

    // Before the staff member confirms, one customer stops being a friend and another already got a mass message today.
    const [gone, capped] = [members[4]!, members[7]!];
    fakes.wecom.removeFriend("staff_a", gone.wecom_external_userid);
    fakes.wecom.state.received.set(capped.wecom_external_userid, [Date.now()]);
    const [task] = [...fakes.wecom.state.tasks.values()];
    expect(fakes.wecom.confirm(task!.msgid, "staff_a")).toBe(true);

    const p = await run(repo, ["receipts", "pull", "--json"]);
    expect(p.exitCode, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout).channels).toEqual([{ channel: "wecom", asked: 1100, delivered: 1098, failed: 2, unmatched: 0 }]);
    // Queued sends are not counted as unconfirmed (that is for sends the provider sent); their results are.
    expect(JSON.parse(p.stdout).delivery).toEqual({ delivered: 1098, failed: 2, unconfirmed: 0 });
    const fails = ledgerDelivery(repo).filter((r) => r.delivery_code);
    expect(fails.map((r) => [r.member, r.delivery_code]).sort()).toEqual([
      [gone.member_id, "status_2"],
      [capped.member_id, "status_3"],
    ]);
    // Not a friend any more: suppressed on this channel, like a deleted contact; over the cap is no opt-out.
    const suppressed = JSON.parse((await run(repo, ["suppress", "list", "--json"])).stdout).suppressions as {
      member: string;
      channel: string;
      reason: string;
    }[];
    expect(suppressed.map((x) => [x.member, x.channel])).toEqual([[gone.member_id, "wecom"]]);
    expect(suppressed[0]!.reason).toMatch(/status_2/);

    // The next run learns the same from its own poll (sent, failed): one suppression still, nothing left to ask.
    const second = await dispatch(repo, "2026-12-24 11:30");
    expect(second.exitCode, second.stderr).toBe(0);
    expect((summaryOf(second) as unknown as { receipts: unknown[] }).receipts).toEqual([{ channel: "wecom", asked: 0, delivered: 0, failed: 0, unmatched: 0 }]);
    expect(JSON.parse((await run(repo, ["suppress", "list", "--json"])).stdout).suppressions).toHaveLength(1);
    expect(((await status(repo)) as unknown as { delivery: Delivery }).delivery).toEqual({ delivered: 1098, failed: 2, unconfirmed: 0 });
    // The pull that found the results read both pages, the second by the cursor the first returned.
    const pages = fakes.wecom.state.resultCalls.filter((c) => c.returned > 0 && c.msgid === task!.msgid);
    expect(pages.slice(0, 2).map((c) => [c.cursor, c.returned])).toEqual([
      ["", 1000],
      ["1000", 100],
    ]);
  });

  it("from WeCom at the end of the run whose poll learnt the results: the sends it failed (status 2 and 3) are asked too", async () => {
    const { members, fakes, repo } = await wecomNotice(30, 12, "staff_b");
    expect((await dispatch(repo, "2026-12-24 10:30")).exitCode).toBe(0);
    const [gone, capped] = [members[2]!, members[3]!];
    fakes.wecom.removeFriend("staff_b", gone.wecom_external_userid);
    fakes.wecom.state.received.set(capped.wecom_external_userid, [Date.now()]);
    expect(fakes.wecom.confirm([...fakes.wecom.state.tasks.keys()][0]!)).toBe(true);
    const second = await dispatch(repo, "2026-12-24 11:30");
    expect(second.exitCode, second.stderr).toBe(0);
    expect(summaryOf(second).staff_tasks).toMatchObject({ sent: 28, failed: 2 });
    expect((summaryOf(second) as unknown as { receipts: unknown[] }).receipts).toEqual([
      { channel: "wecom", asked: 30, delivered: 28, failed: 2, unmatched: 0 },
    ]);
    expect(((await status(repo)) as unknown as { delivery: Delivery }).delivery).toEqual({ delivered: 28, failed: 2, unconfirmed: 0 });
    const suppressed = JSON.parse((await run(repo, ["suppress", "list", "--json"])).stdout).suppressions as { member: string; channel: string }[];
    expect(suppressed.map((x) => [x.member, x.channel])).toEqual([[gone.member_id, "wecom"]]);
  });
});
