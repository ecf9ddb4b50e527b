/**
 * Snapshots change between runs: every run inside an occurrence's catch-up window plans it again against its own
 * snapshot (new members added, members planned before left as they are, pending sends of members no longer eligible
 * withdrawn); a snapshot half the size of the last one stops the run; test sends to staff use up nothing; and
 * `simulate --at` and `preview` read the ledger as dispatch does. The built CLI against the loopback webhook fake.
 */
import { afterAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { hasStackTrace } from "./cli.js";
import {
  dispatch,
  duplicates,
  ledgerRows,
  makeMembers,
  makeRepo,
  run,
  startFakes,
  status,
  summaryOf,
  writeMembersCsv,
  type CampaignSpec,
  type Fakes,
  type Member,
  type TestRepo,
} from "./dispatch-helpers.js";

const ONCE = "once at 2026-12-24 10:00";
const PING: CampaignSpec = { name: "ping", template: "daily", channels: ["hook"], trigger: ONCE, priority: 90 };
const PONG: CampaignSpec = { name: "pong", template: "notice", channels: ["hook"], trigger: ONCE, priority: 10 };

const open: Fakes[] = [];
afterAll(async () => {
  await Promise.all(open.map((f) => f.close()));
});

async function setup(n: number, seed: number, campaigns: CampaignSpec[], policy: { max?: string } = {}) {
  const members = makeMembers(n, seed);
  const fakes = await startFakes(members);
  open.push(fakes);
  const repo = makeRepo({ channels: { hook: fakes.channels.hook }, campaigns, members, policy });
  return { members, fakes, repo };
}

/** A member file beside the repository's snapshot. */
function snapshot(repo: TestRepo, name: string, members: Member[]): string {
  const file = path.join(repo.dir, name);
  writeMembersCsv(file, members);
  return file;
}

const eligible = (ms: Member[]) =>
  ms
    .filter((m) => !m.unsubscribed)
    .map((m) => m.member_id)
    .sort();
const deliveredTo = (fakes: Fakes, campaign: string) =>
  fakes.hook
    .deliveries()
    .filter((d) => d.body.campaign === campaign)
    .map((d) => String(d.body.member));

describe("chuda dispatch: an occurrence planned again against a later snapshot", () => {
  it("a staff file at 10:05, then the full export at 10:10: the rest of the members get it, nobody twice, caps hold", async () => {
    // policy.max 1 a day: ping (higher priority) takes each member's one send of the day, pong is capped for all.
    const { members, fakes, repo } = await setup(300, 21, [PING, PONG], { max: "1 per member per day" });
    const staff = snapshot(repo, "staff.csv", members.slice(0, 29));

    const first = await run(repo, ["dispatch", "--members", staff, "--at", "2026-12-24 10:05", "--json"]);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(summaryOf(first).sent).toBe(eligible(members.slice(0, 29)).length);

    const second = await dispatch(repo, "2026-12-24 10:10");
    expect(second.exitCode, second.stderr).toBe(0);
    expect(hasStackTrace(second.stderr)).toBe(false);
    const s = summaryOf(second) as ReturnType<typeof summaryOf> & { replanned: number; replanned_sends: number; withdrawn: number };
    const rest = eligible(members.slice(29));
    expect(s.occurrences).toBe(2);
    expect(s.replanned).toBe(2);
    expect(s.planned).toBe(rest.length);
    expect(s.replanned_sends).toBe(rest.length);
    expect(s.sent).toBe(rest.length);
    expect(s.withdrawn).toBe(0);

    // Every eligible member got ping exactly once; pong went to nobody (the staff's ping, sent by the first run,
    // still counts against policy.max when the occurrence is planned again).
    const ping = deliveredTo(fakes, "ping");
    expect(duplicates(ping)).toEqual([]);
    expect(ping.sort()).toEqual(eligible(members));
    expect(deliveredTo(fakes, "pong")).toEqual([]);

    // The text summary says the occurrences were planned again.
    const third = await run(repo, ["dispatch", "--members", repo.members, "--at", "2026-12-24 10:15"]);
    expect(third.exitCode, third.stderr).toBe(0);
    expect(third.stdout).toMatch(/2 occurrences planned \(2 planned again: 0 new sends\), 0 sends/);
    expect(fakes.hook.deliveries()).toHaveLength(eligible(members).length);
  });

  it("pending sends of members who unsubscribed or left the snapshot are withdrawn, never sent", async () => {
    const { members, fakes, repo } = await setup(60, 22, [PING]);
    // The receiver is down: the first run leaves every send pending.
    fakes.hook.down(503);
    const first = await dispatch(repo, "2026-12-24 10:05");
    expect(first.exitCode).toBe(1);
    expect(summaryOf(first).pending).toBe(eligible(members).length);
    fakes.hook.down(undefined);

    // At 10:07 ten members unsubscribe and ten more leave the export; one new member joins.
    const active = members.filter((m) => !m.unsubscribed);
    const unsubscribed = new Set(active.slice(0, 10).map((m) => m.member_id));
    const left = new Set(active.slice(10, 20).map((m) => m.member_id));
    const joined = makeMembers(61, 22)[60]!;
    const next = [
      ...members.filter((m) => !left.has(m.member_id)).map((m) => (unsubscribed.has(m.member_id) ? { ...m, unsubscribed: true } : m)),
      { ...joined, unsubscribed: false },
    ];
    const file = snapshot(repo, "members-1010.csv", next);

    // A dry run lists what the real run will send: not the sends it would withdraw.
    const dry = await run(repo, ["dispatch", "--members", file, "--at", "2026-12-24 10:10", "--json", "--dry-run"]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    const dj = JSON.parse(dry.stdout) as { sends: { member: string }[]; withdrawing: number };
    expect(dj.withdrawing).toBe(20);
    expect(dj.sends.map((x) => x.member).sort()).toEqual(eligible(next));

    const second = await run(repo, ["dispatch", "--members", file, "--at", "2026-12-24 10:10", "--json"]);
    expect(second.exitCode, second.stderr).toBe(0);
    const s = summaryOf(second) as ReturnType<typeof summaryOf> & { withdrawn: number; replanned: number };
    expect(s.replanned).toBe(1);
    expect(s.withdrawn).toBe(20);
    expect(s.planned).toBe(1);

    const got = deliveredTo(fakes, "ping");
    expect(duplicates(got)).toEqual([]);
    expect(got.filter((m) => unsubscribed.has(m) || left.has(m))).toEqual([]);
    expect(got.sort()).toEqual(eligible(next));
    const rows = ledgerRows(repo);
    expect(
      rows
        .filter((r) => r.state === "withdrawn")
        .map((r) => r.member)
        .sort(),
    ).toEqual([...unsubscribed, ...left].sort());
    const st = await status(repo);
    expect((st.sends as Record<string, number>).withdrawn).toBe(20);
    expect(st.sends.planned).toBe(0);
  });
});

describe("chuda dispatch: a budget across runs", () => {
  it("an occurrence planned again spends only what the earlier run left of its budget", async () => {
    const { members, fakes, repo } = await setup(60, 30, []);
    const yaml = path.join(repo.dir, "chuda.yaml");
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace("    driver: webhook\n", "    driver: webhook\n    price: 0.1 CNY per message\n"));
    writeFileSync(
      path.join(repo.dir, "campaigns/test.chuda"),
      'campaign capped "capped" {\n  audience member_id is set\n  trigger  once at 2026-12-24 10:00\n  content  "daily"\n  channel  hook\n  goal     visit within 3 days\n  budget   1 CNY\n}\n',
    );
    const staff = snapshot(repo, "staff.csv", members.filter((m) => !m.unsubscribed).slice(0, 4));
    const first = await run(repo, ["dispatch", "--members", staff, "--at", "2026-12-24 10:05", "--json"]);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(summaryOf(first).sent).toBe(4);
    const second = await dispatch(repo, "2026-12-24 10:10");
    expect(second.exitCode, second.stderr).toBe(0);
    expect(summaryOf(second).sent).toBe(6);
    const got = deliveredTo(fakes, "capped");
    expect(duplicates(got)).toEqual([]);
    expect(got).toHaveLength(10);
  });
});

describe("chuda dispatch: pending sends older than the catch-up window", () => {
  it("are still withdrawn for members no longer eligible; the occurrence gets no new members", async () => {
    const { members, fakes, repo } = await setup(40, 28, [PING]);
    fakes.hook.down(503);
    const first = await dispatch(repo, "2026-12-24 10:05");
    expect(summaryOf(first).pending).toBe(eligible(members).length);
    fakes.hook.down(undefined);

    // Seven hours later (the catch-up window is six): five members have unsubscribed, one new member joined.
    const gone = new Set(eligible(members).slice(0, 5));
    const joined = { ...makeMembers(41, 28)[40]!, unsubscribed: false };
    const next = [...members.map((m) => (gone.has(m.member_id) ? { ...m, unsubscribed: true } : m)), joined];
    const file = snapshot(repo, "members-1705.csv", next);
    const second = await run(repo, ["dispatch", "--members", file, "--at", "2026-12-24 17:05", "--json"]);
    expect(second.exitCode, second.stderr).toBe(0);
    const s = summaryOf(second) as ReturnType<typeof summaryOf> & { withdrawn: number };
    expect(s.withdrawn).toBe(5);
    expect(s.planned).toBe(0);
    const got = deliveredTo(fakes, "ping");
    expect(duplicates(got)).toEqual([]);
    expect(got.sort()).toEqual(eligible(members).filter((m) => !gone.has(m)));
  });
});

describe("chuda dispatch: a snapshot much smaller than the last one", () => {
  it("stops with exit 2 and a clear message unless --allow-shrink", async () => {
    const { members, repo } = await setup(200, 23, [{ ...PING, trigger: "every day at 10:00" }]);
    // (Exit 1 on the daily runs: the days before the catch-up window are reported as missed occurrences.)
    const first = await dispatch(repo, "2026-12-24 10:05");
    expect(summaryOf(first).sent, first.stderr).toBe(eligible(members).length);

    const truncated = snapshot(repo, "truncated.csv", members.slice(0, 100));
    const refused = await run(repo, ["dispatch", "--members", truncated, "--at", "2026-12-25 10:05"]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/100 members, half or less of the 200 the last dispatch used/);
    expect(refused.stderr).toMatch(/--allow-shrink/);
    expect(hasStackTrace(refused.stderr)).toBe(false);
    expect(ledgerRows(repo).filter((r) => r.occurrence.startsWith("2026-12-25"))).toEqual([]);

    // A little smaller is fine; so is a shrink the operator confirms.
    const smaller = snapshot(repo, "smaller.csv", members.slice(0, 101));
    const ok = await run(repo, ["dispatch", "--members", smaller, "--at", "2026-12-25 10:05", "--json"]);
    expect(summaryOf(ok).sent, ok.stderr).toBe(eligible(members.slice(0, 101)).length);
    const allowed = await run(repo, ["dispatch", "--members", truncated, "--at", "2026-12-26 10:05", "--json", "--allow-shrink"]);
    expect(summaryOf(allowed).sent).toBe(eligible(members.slice(0, 100)).length);
  });
});

describe("chuda dispatch: the snapshot is read when a plan needs it", () => {
  it("a run with nothing due does not read it; the run that plans does, and stops on a snapshot it cannot use", async () => {
    const { members, fakes, repo } = await setup(30, 29, [PING]);
    const broken = path.join(repo.dir, "broken.csv");
    writeFileSync(broken, "customer,phone number\nA,13800000001\n");

    // The 20th: nothing is due, the snapshot is not read, the run is done.
    const idle = await run(repo, ["dispatch", "--members", broken, "--at", "2026-12-20 10:00", "--json"]);
    expect(idle.exitCode, idle.stderr).toBe(0);
    expect(summaryOf(idle)).toMatchObject({ occurrences: 0, planned: 0, sent: 0 });

    // A path that is not there is refused at once, due or not.
    const missing = await run(repo, ["dispatch", "--members", path.join(repo.dir, "nope.csv"), "--at", "2026-12-20 10:00"]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toBe("chuda: cannot read the member snapshot nope.csv: ENOENT\nhint: check the path given to --members");
    expect(hasStackTrace(missing.stderr)).toBe(false);

    // The 24th: the plan needs the snapshot, and this one has no member key: exit 2, nothing planned, the run failed.
    const refused = await run(repo, ["dispatch", "--members", broken, "--at", "2026-12-24 10:05"]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toBe(
      "chuda: the member snapshot has no `member_id` column, the member key declared in chuda.yaml\nhint: its columns are: customer, phone number",
    );
    expect(hasStackTrace(refused.stderr)).toBe(false);
    expect(ledgerRows(repo)).toEqual([]);
    expect((await status(repo)).runs.map((r) => r.status)).toEqual(["failed", "done"]);

    const ok = await dispatch(repo, "2026-12-24 10:05");
    expect(summaryOf(ok).sent, ok.stderr).toBe(eligible(members).length);
    expect(deliveredTo(fakes, "ping").sort()).toEqual(eligible(members));
  });
});

describe("chuda dispatch --test-to", () => {
  it("sends the campaign's message to the staff for real, recorded apart; the real run still sends to everyone", async () => {
    const { members, fakes, repo } = await setup(80, 24, [PING]);
    const staffMembers = makeMembers(3, 99).map((m, i) => ({ ...m, member_id: `M9${String(i).padStart(5, "0")}`, unsubscribed: false }));
    const staff = snapshot(repo, "staff.csv", staffMembers);

    const test = await run(repo, ["dispatch", "--test-to", staff, "ping"]);
    expect(test.exitCode, test.stderr + test.stdout).toBe(0);
    expect(test.stdout).toMatch(/Test of ping: 3 of 3 messages accepted/);
    const tested = fakes.hook.deliveries();
    expect(tested.map((d) => String(d.body.member)).sort()).toEqual(staffMembers.map((m) => m.member_id));
    expect(tested.every((d) => d.body.campaign === "ping" && d.body.channel === "hook")).toBe(true);
    // Nothing in the campaign's sends, no occurrence used up, nothing for status to count.
    const st = await status(repo);
    expect(Object.values(st.sends).every((n) => n === 0)).toBe(true);

    const real = await dispatch(repo, "2026-12-24 10:05");
    expect(real.exitCode, real.stderr).toBe(0);
    expect(summaryOf(real).sent).toBe(eligible(members).length);
    const got = fakes.hook
      .deliveries()
      .slice(tested.length)
      .map((d) => String(d.body.member));
    expect(got.sort()).toEqual(eligible(members));
    expect(ledgerRows(repo).some((r) => r.member.startsWith("M9"))).toBe(false);
  });

  it("refuses a missing campaign, a snapshot-sized list, and a campaign name without --test-to (exit 2, one line)", async () => {
    const { members, repo } = await setup(300, 25, [PING]);
    const noCampaign = await run(repo, ["dispatch", "--test-to", repo.members]);
    expect(noCampaign.exitCode).toBe(2);
    expect(noCampaign.stderr).toMatch(/--test-to needs the campaign/);
    const big = await run(repo, ["dispatch", "--test-to", repo.members, "ping"]);
    expect(big.exitCode).toBe(2);
    expect(big.stderr).toMatch(/300 rows: a test goes to a staff list of at most 200/);
    const stray = await run(repo, ["dispatch", "--members", repo.members, "ping"]);
    expect(stray.exitCode).toBe(2);
    expect(stray.stderr).toMatch(/campaign name only with --test-to/);
    for (const r of [noCampaign, big, stray]) expect(hasStackTrace(r.stderr)).toBe(false);
    expect(members.length).toBe(300);
  });
});

describe("simulate --at and preview read the ledger as dispatch does", () => {
  it("after a dispatch at T, simulate --at T shows what dispatch --dry-run --at T would send", async () => {
    const { members, repo } = await setup(200, 26, [PING, PONG], { max: "1 per member per day" });
    const staff = snapshot(repo, "staff.csv", members.slice(0, 29));
    const first = await run(repo, ["dispatch", "--members", staff, "--at", "2026-12-24 10:05", "--json"]);
    expect(first.exitCode, first.stderr).toBe(0);

    for (const file of [repo.members, staff]) {
      const dry = await run(repo, ["dispatch", "--members", file, "--at", "2026-12-24 10:10", "--dry-run", "--json"]);
      expect(dry.exitCode, dry.stderr).toBe(0);
      const drySends = (JSON.parse(dry.stdout) as { sends: { campaign: string }[] }).sends;
      const sim = await run(repo, ["simulate", "--members", file, "--at", "2026-12-24 10:10", "--json"]);
      expect(sim.exitCode, sim.stderr).toBe(0);
      const j = JSON.parse(sim.stdout) as { total: { sends: number }; campaigns: { name: string; sends: number; planned_before?: number }[] };
      expect(j.total.sends).toBe(drySends.length);
      for (const c of j.campaigns) expect(c.sends, c.name).toBe(drySends.filter((d) => d.campaign === c.name).length);
    }
    // With the full export the rest of the members are new; with the staff file again, nothing is.
    const sim = JSON.parse((await run(repo, ["simulate", "--members", repo.members, "--at", "2026-12-24 10:10", "--json"])).stdout) as {
      total: { sends: number };
      campaigns: { name: string; planned_before?: number }[];
    };
    expect(sim.total.sends).toBe(eligible(members.slice(29)).length);
    expect(sim.campaigns.find((c) => c.name === "ping")!.planned_before).toBe(eligible(members.slice(0, 29)).length);
  });

  it("preview never says chosen where the whole repository's plan caps the member by a quota", async () => {
    const { members, repo } = await setup(20, 27, [PING, PONG]);
    const yaml = path.join(repo.dir, "chuda.yaml");
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace("    driver: webhook\n", "    driver: webhook\n    quota: 1 per member per day\n"));
    const id = members.find((m) => !m.unsubscribed)!.member_id;
    const args = (c: string) => ["preview", c, "--members", repo.members, "--member", id, "--from", "2026-12-24", "--json"];
    const pong = await run(repo, args("pong"));
    expect(pong.exitCode, pong.stderr).toBe(0);
    const pj = JSON.parse(pong.stdout) as { channel: string | null; reason: string | null };
    expect(pj).toMatchObject({ channel: null, reason: "capped:quota" });
    const text = await run(
      repo,
      args("pong").filter((a) => a !== "--json"),
    );
    expect(text.stdout).not.toMatch(/chosen/);
    expect(text.stdout).toMatch(/quota is used up/);
    // ping, first in the walk, takes the member's one send of the day on hook.
    const ping = JSON.parse((await run(repo, args("ping"))).stdout) as { channel: string | null; reason: string | null };
    expect(ping).toMatchObject({ channel: "hook", reason: null });
    // The same answer from the plan simulate makes.
    const plan = path.join(repo.dir, "plan.csv");
    const sim = await run(repo, ["simulate", "--members", repo.members, "--from", "2026-12-24", "--to", "2026-12-24", "--plan", plan]);
    expect(sim.exitCode, sim.stderr).toBe(0);
    expect(readFileSync(plan, "utf8")).toMatch(new RegExp(`^pong,[^,]+,${id},,,.*,capped:quota$`, "m"));
  });

  it("preview agrees with the plan where a campaign's limit depends on the other members", async () => {
    const { repo } = await setup(20, 29, [PING]);
    const file = path.join(repo.dir, "campaigns/test.chuda");
    writeFileSync(
      file,
      readFileSync(file, "utf8") +
        '\ncampaign top "top" {\n  audience member_id is set\n  trigger  once at 2026-12-24 11:00\n  content  "daily"\n  channel  hook\n  goal     visit within 3 days\n  limit    5 members\n}\n',
    );
    const plan = path.join(repo.dir, "plan.csv");
    const sim = await run(repo, ["simulate", "--members", repo.members, "--from", "2026-12-24", "--to", "2026-12-24", "--plan", plan]);
    expect(sim.exitCode, sim.stderr).toBe(0);
    const top = readFileSync(plan, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("top,"))
      .map((l) => l.split(","));
    const chosen = top.filter((r) => r[3] === "hook").map((r) => r[2]!);
    const limited = top.filter((r) => r[r.length - 1] === "capped:limit").map((r) => r[2]!);
    expect(chosen).toHaveLength(5);
    expect(limited.length).toBeGreaterThan(5);
    for (const [id, want] of [
      [limited[0]!, { channel: null, reason: "capped:limit" }],
      [limited[limited.length - 1]!, { channel: null, reason: "capped:limit" }],
      [chosen[0]!, { channel: "hook", reason: null }],
    ] as const) {
      const r = await run(repo, ["preview", "top", "--members", repo.members, "--member", id, "--from", "2026-12-24", "--json"]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout), id).toMatchObject(want);
    }
  });
});
