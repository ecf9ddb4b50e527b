/**
 * WeCom as staff use it, end to end on the built CLI: a mass-message task per (staff member, identical message), the
 * tasks' fate asked on every run (confirmed → sent, not a contact → failed with fallback), unconfirmed tasks canceled
 * and their sends `expired` at expiry, and the staff confirmation rate in `chuda status`. The loopback fake plays the
 * staff: staff_a confirms at the first poll, staff_c at the second, staff_b never.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { hasStackTrace } from "./cli.js";
import {
  dispatch,
  ledgerRows,
  makeMembers,
  makeRepo,
  run,
  startFakes,
  status,
  summaryOf,
  type CampaignSpec,
  type Fakes,
  type Member,
  type TestRepo,
} from "./dispatch-helpers.js";

const GIFT: CampaignSpec = {
  name: "gift",
  template: "gift",
  channels: ["wecom", "sms"],
  trigger: "once at 2026-12-24 10:00",
  with: { coupon: "XMAS50", amount: 50 },
};

interface StaffRow {
  campaign: string;
  channel: string;
  staff: string;
  tasks: number;
  confirmed: number;
  rate: number | null;
  sends: number;
  sent: number;
  waiting: number;
  expired: number;
}

describe("WeCom tasks: one per staff member and message, reconciled every run, canceled at expiry", () => {
  let members: Member[];
  let fakes: Fakes;
  let repo: TestRepo;
  let wecomMembers: Member[];
  let notFriend: Member;
  const rowsOf = (staff: string) =>
    ledgerRows(repo).filter((r) => r.channel === "wecom" && wecomMembers.find((m) => m.member_id === r.member)?.wecom_owner === staff);

  beforeAll(async () => {
    members = makeMembers(150, 23);
    fakes = await startFakes(members, { wecom: { confirmAfterPolls: { staff_a: 1, staff_c: 2 } } });
    repo = makeRepo({ channels: { wecom: fakes.channels.wecom!, sms: fakes.channels.sms! }, campaigns: [GIFT], members });
    wecomMembers = members.filter((m) => m.wecom_external_userid && !m.unsubscribed);
    notFriend = wecomMembers.find((m) => m.wecom_owner === "staff_a" && m.sms_opt_in)!;
  });
  afterAll(async () => {
    await fakes?.close();
  });

  it("creates one add_msg_template task per staff member for a message that is the same for everyone", async () => {
    const r = await dispatch(repo, "2026-12-24 10:30");
    expect(r.exitCode, r.stderr).toBe(0);
    const calls = fakes.wecom.state.createCalls;
    expect(calls.map((c) => c.sender).sort()).toEqual(["staff_a", "staff_b", "staff_c"]);
    for (const c of calls) expect(c.count).toBe(wecomMembers.filter((m) => m.wecom_owner === c.sender).length);
    expect(
      ledgerRows(repo)
        .filter((x) => x.channel === "wecom")
        .every((x) => x.state === "queued"),
    ).toBe(true);
  });

  it("a later run marks the confirmed task's sends sent, and a non-contact failed with fallback to SMS", async () => {
    fakes.wecom.removeFriend("staff_a", notFriend.wecom_external_userid);
    const r = await dispatch(repo, "2026-12-24 11:30");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(summaryOf(r).staff_tasks).toMatchObject({ failed: 1, expired: 0, sent: rowsOf("staff_a").length - 1 });
    const a = rowsOf("staff_a");
    expect(a.filter((x) => x.state === "sent").length).toBe(a.length - 1);
    const failed = a.find((x) => x.member === notFriend.member_id)!;
    expect([failed.state, failed.error_code]).toEqual(["failed", "status_2"]);
    expect(fakes.sms.deliveries().map((d) => d.phone)).toContain(notFriend.mobile);
    // staff_c confirms at the second poll, staff_b never: both still wait.
    expect(rowsOf("staff_b").every((x) => x.state === "queued")).toBe(true);
    expect(rowsOf("staff_c").every((x) => x.state === "queued")).toBe(true);
  });

  it("staff_c's task is sent at the next run; staff_b's is canceled and its sends expire 24 hours after the planned time", async () => {
    const r1 = await dispatch(repo, "2026-12-24 12:30");
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(rowsOf("staff_c").every((x) => x.state === "sent")).toBe(true);
    expect(rowsOf("staff_b").every((x) => x.state === "queued")).toBe(true);
    // Still inside the 24 hours: nothing is canceled.
    const r2 = await dispatch(repo, "2026-12-25 09:30");
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect([...fakes.wecom.state.tasks.values()].some((t) => t.canceled)).toBe(false);

    const r3 = await dispatch(repo, "2026-12-25 10:30");
    // Sends that expired in this run are something to look at: exit 1 (the exit codes for cron).
    expect(r3.exitCode, r3.stderr).toBe(1);
    expect(summaryOf(r3).expired).toBe(rowsOf("staff_b").length);
    const b = rowsOf("staff_b");
    expect(b.length).toBeGreaterThan(0);
    expect(b.every((x) => x.state === "expired")).toBe(true);
    expect(summaryOf(r3).staff_tasks).toMatchObject({ expired: b.length, waiting: 0 });
    const canceled = [...fakes.wecom.state.tasks.values()].filter((t) => t.canceled);
    expect(canceled.map((t) => t.sender)).toEqual(["staff_b"]);
    // The canceled task is never sent, even if staff_b presses send later.
    expect(fakes.wecom.confirm(canceled[0]!.msgid)).toBe(false);
  });

  it("status shows the staff confirmation rate (员工执行率) per staff member and campaign, in text and JSON", async () => {
    const st = (await status(repo)) as unknown as { sends: Record<string, number>; staff: StaffRow[] };
    const n = (s: string) => wecomMembers.filter((m) => m.wecom_owner === s).length;
    expect(st.sends.expired).toBe(n("staff_b"));
    const by = Object.fromEntries(st.staff.map((x) => [x.staff, x]));
    expect(st.staff.every((x) => x.campaign === "gift" && x.channel === "wecom")).toBe(true);
    expect(by.staff_a).toMatchObject({ tasks: 1, confirmed: 1, rate: 1, sends: n("staff_a"), sent: n("staff_a") - 1 });
    expect(by.staff_b).toMatchObject({ tasks: 1, confirmed: 0, rate: 0, sends: n("staff_b"), sent: 0, expired: n("staff_b") });
    expect(by.staff_c).toMatchObject({ tasks: 1, confirmed: 1, rate: 1, sent: n("staff_c") });
    const text = await run(repo, ["status"]);
    expect(text.exitCode).toBe(0);
    expect(hasStackTrace(text.stderr)).toBe(false);
    expect(text.stdout).toContain("员工执行率");
    expect(text.stdout).toMatch(/gift\s+wecom\s+staff_b\s+1\s+0\s+0\.0%/);
    expect(text.stdout).toMatch(/gift\s+wecom\s+staff_a\s+1\s+1\s+100\.0%/);
  });
});

describe("a WeCom section that reads member fields: validate warns, simulate counts the tasks per staff member", () => {
  let fakes: Fakes;
  afterAll(async () => {
    await fakes?.close();
  });

  it("warns in validate, and simulate's tasks per staff member are the add_msg_template calls dispatch makes", async () => {
    const members = makeMembers(90, 31);
    fakes = await startFakes(members);
    const greet: CampaignSpec = { name: "greet", template: "greet", channels: ["wecom"], trigger: "once at 2026-12-24 10:00" };
    const repo = makeRepo({ channels: { wecom: fakes.channels.wecom! }, campaigns: [greet, { ...GIFT, channels: ["wecom"] }], members });
    writeFileSync(path.join(repo.dir, "templates/greet.yaml"), 'wecom:\n  text: "{{name}}您好，{{tier}}会员专享手作活动本周六开放报名。"\n');

    const v = await run(repo, ["validate"]);
    expect(v.exitCode, v.stdout).toBe(0);
    const out = v.stdout + v.stderr;
    expect(out).toContain("warning CH3084 the `wecom` section of template `greet` reads member fields (`name`)");
    expect(out).toContain("campaign `greet` sends it on channel `wecom`");
    expect(out).not.toContain("template `gift` reads member fields");
    expect((await run(repo, ["validate", "--strict"])).exitCode).toBe(1);

    const sim = await run(repo, ["simulate", "--members", repo.members, "--at", "2026-12-24 10:30", "--json"]);
    expect(sim.exitCode, sim.stderr).toBe(0);
    const tasks = (JSON.parse(sim.stdout) as { wecom_tasks: { campaign: string; channel: string; staff: string; sends: number; tasks: number }[] }).wecom_tasks;
    const of = (campaign: string) => Object.fromEntries(tasks.filter((t) => t.campaign === campaign).map((t) => [t.staff, t]));
    expect(Object.values(of("gift")).map((t) => t.tasks)).toEqual([1, 1, 1]);
    const greetTasks = of("greet");
    expect(Object.keys(greetTasks).sort()).toEqual(["staff_a", "staff_b", "staff_c"]);
    for (const t of Object.values(greetTasks)) expect(t.tasks).toBeGreaterThan(1);
    const text = await run(repo, ["simulate", "--members", repo.members, "--at", "2026-12-24 10:30"]);
    expect(text.stdout).toContain("WeCom tasks per staff member");
    expect(text.stdout).toMatch(/greet\s+wecom\s+staff_a\s+\d+\s+\d+/);

    const r = await dispatch(repo, "2026-12-24 10:30");
    expect(r.exitCode, r.stderr).toBe(0);
    const calls = fakes.wecom.state.createCalls;
    for (const staff of ["staff_a", "staff_b", "staff_c"]) {
      const simulated = (greetTasks[staff]?.tasks ?? 0) + (of("gift")[staff]?.tasks ?? 0);
      expect(calls.filter((c) => c.sender === staff).length, staff).toBe(simulated);
      expect(calls.filter((c) => c.sender === staff).reduce((a, c) => a + c.count, 0)).toBe((greetTasks[staff]?.sends ?? 0) + (of("gift")[staff]?.sends ?? 0));
    }
  });
});
