/**
 * Send-time rules on every attempt, sends that expire, the run's own clock, exit codes for cron, `--only` and
 * `--dry-run` over sends pending since earlier runs. Each run is pinned with `--at` (and `CHUDA_NOW` as "now").
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { hasStackTrace } from "./cli.js";
import {
  campaignText,
  dispatch,
  duplicates,
  ledgerRows,
  makeMembers,
  makeRepo,
  run,
  startFakes,
  status,
  summaryOf,
  type CampaignSpec,
  type Fakes,
  type TestRepo,
} from "./dispatch-helpers.js";

const open: Fakes[] = [];
afterAll(async () => {
  for (const f of open) await f.close();
});

async function hookRepo(n: number, campaigns: CampaignSpec[], opts: { quiet?: string; expireAfter?: string; extra?: Record<string, string> } = {}) {
  const members = makeMembers(n, 11, { unsubscribed: 0 });
  const fakes = await startFakes(members);
  open.push(fakes);
  const repo = makeRepo({ channels: { hook: fakes.channels.hook! }, campaigns, members });
  const yaml = path.join(repo.dir, "chuda.yaml");
  let text = readFileSync(yaml, "utf8");
  if (opts.quiet) text = text.replace('quiet_hours: "22:00-08:00"', `quiet_hours: "${opts.quiet}"`);
  if (opts.expireAfter) text = text.replace("  default_time:", `  expire_after: ${opts.expireAfter}\n  default_time:`);
  writeFileSync(yaml, text);
  // Extra clauses per campaign (e.g. `expire after 3 hours`).
  if (opts.extra) {
    const file = path.join(repo.dir, "campaigns/test.chuda");
    writeFileSync(
      file,
      campaigns.map((c) => (opts.extra![c.name] ? campaignText(c).replace("  goal ", `  ${opts.extra![c.name]}\n  goal `) : campaignText(c))).join("\n"),
    );
  }
  return { members, fakes, repo };
}

const delivered = (fakes: Fakes, campaign?: string) =>
  fakes.hook
    .deliveries()
    .filter((d) => campaign === undefined || d.body.campaign === campaign)
    .map((d) => String(d.body.member));

describe("quiet hours and send windows hold for every attempt", () => {
  it("sends left pending by an outage, and a once-at found late, wait out quiet hours for the next allowed moment", async () => {
    const late: CampaignSpec = { name: "late", template: "daily", channels: ["hook"], trigger: "once at 2026-11-25 20:58" };
    const eve: CampaignSpec = { name: "eve", template: "daily", channels: ["hook"], trigger: "once at 2026-11-25 20:50" };
    const { members, fakes, repo } = await hookRepo(30, [eve, late], { quiet: "21:00-09:00" });
    fakes.hook.down(503);
    const first = await dispatch(repo, "2026-11-25 20:55");
    expect(first.exitCode, first.stderr).toBe(1);
    expect(summaryOf(first).pending).toBe(members.length);

    // The receiver is back, but it is 22:30: inside quiet hours nothing goes out, neither the retries nor `late`,
    // an occurrence this run finds within its catch-up window.
    fakes.hook.down(undefined);
    const night = await dispatch(repo, "2026-11-25 22:30");
    expect(night.exitCode, night.stderr).toBe(1); // pending: something is left to send
    const s2 = summaryOf(night);
    expect(s2.sent).toBe(0);
    expect(s2.pending).toBe(2 * members.length);
    expect(fakes.hook.deliveries()).toEqual([]);
    // The dry run of the same moment says the same.
    const dry = await dispatch(repo, "2026-11-25 22:35", ["--dry-run"]);
    expect(JSON.parse(dry.stdout).sends).toEqual([]);

    // 09:05 the next morning: all of them, once each.
    const morning = await dispatch(repo, "2026-11-26 09:05");
    expect(morning.exitCode, morning.stderr).toBe(0);
    expect(summaryOf(morning).sent).toBe(2 * members.length);
    expect(duplicates(fakes.hook.deliveries().map((d) => d.key))).toEqual([]);
    expect(delivered(fakes, "eve")).toHaveLength(members.length);
    expect(delivered(fakes, "late")).toHaveLength(members.length);
    for (const d of fakes.hook.deliveries()) expect(d.at).toBeGreaterThan(0);
  });

  it("a send window holds for a send found after the window closed", async () => {
    const noon: CampaignSpec = { name: "noon", template: "daily", channels: ["hook"], trigger: "once at 2026-11-25 11:00" };
    const { members, fakes, repo } = await hookRepo(10, [noon], { extra: { noon: "send between 10:00 and 12:00" } });
    const afternoon = await dispatch(repo, "2026-11-25 13:00");
    expect(afternoon.exitCode).toBe(1);
    expect(summaryOf(afternoon).sent).toBe(0);
    const next = await dispatch(repo, "2026-11-26 10:05");
    expect(next.exitCode, next.stderr).toBe(0);
    expect(delivered(fakes)).toHaveLength(members.length);
  });
});

describe("sends expire", () => {
  it("by default 24 hours after their planned time: never sent, state expired, counted by status", async () => {
    const c: CampaignSpec = { name: "coupon", template: "daily", channels: ["hook"], trigger: "once at 2026-11-25 10:00" };
    const { members, fakes, repo } = await hookRepo(20, [c]);
    fakes.hook.down(503);
    expect((await dispatch(repo, "2026-11-25 10:05")).exitCode).toBe(1);
    fakes.hook.down(undefined);
    const r = await dispatch(repo, "2026-11-26 10:30");
    expect(hasStackTrace(r.stderr)).toBe(false);
    const s = summaryOf(r);
    expect(s.sent).toBe(0);
    expect(s.expired).toBe(members.length);
    expect(s.pending).toBe(0);
    expect(r.exitCode).toBe(1); // sends were lost: something to look at
    expect(fakes.hook.deliveries()).toEqual([]);
    expect(ledgerRows(repo).map((x) => x.state)).toEqual(members.map(() => "expired"));
    const st = await status(repo);
    expect((st.sends as Record<string, number>).expired).toBe(members.length);
    expect(st.sends.planned).toBe(0);
    const text = await run(repo, ["status"]);
    expect(text.stdout).toMatch(/expired/);
    // A later run sends none of them either, and has nothing left to report.
    const again = await dispatch(repo, "2026-11-26 11:00");
    expect(summaryOf(again).sent).toBe(0);
    expect(again.exitCode).toBe(0);
  });

  it("after policy.expire_after, or the campaign's own `expire after`", async () => {
    const short: CampaignSpec = { name: "short", template: "daily", channels: ["hook"], trigger: "once at 2026-11-25 10:00" };
    const long: CampaignSpec = { name: "long", template: "daily", channels: ["hook"], trigger: "once at 2026-11-25 10:00" };
    const { members, fakes, repo } = await hookRepo(15, [short, long], { expireAfter: "1 hour", extra: { long: "expire after 3 hours" } });
    fakes.hook.down(503);
    expect((await dispatch(repo, "2026-11-25 10:05")).exitCode).toBe(1);
    fakes.hook.down(undefined);
    const r = await dispatch(repo, "2026-11-25 11:30");
    const s = summaryOf(r);
    expect(s.expired).toBe(members.length);
    expect(s.sent).toBe(members.length);
    expect(delivered(fakes, "short")).toEqual([]);
    expect(delivered(fakes, "long")).toHaveLength(members.length);
    const states = new Map(ledgerRows(repo).map((x) => [`${x.campaign}|${x.member}`, x.state]));
    for (const m of members) {
      expect(states.get(`short|${m.member_id}`)).toBe("expired");
      expect(states.get(`long|${m.member_id}`)).toBe("sent");
    }
  });

  it("a send retried past its expiry is expired instead, within the run", async () => {
    const c: CampaignSpec = { name: "flash", template: "daily", channels: ["hook"], trigger: "once at 2026-11-25 10:00" };
    const { members, fakes, repo } = await hookRepo(5, [c], { extra: { flash: "expire after 1 minute" } });
    fakes.hook.down(503);
    const r = await dispatch(repo, "2026-11-25T10:00:30+08:00");
    const s = summaryOf(r);
    expect(s.expired).toBe(members.length);
    expect(s.pending).toBe(0);
    expect(ledgerRows(repo).every((x) => x.state === "expired")).toBe(true);
  });

  it("policy.expire_after of zero is refused by validate", async () => {
    const c: CampaignSpec = { name: "z", template: "daily", channels: ["hook"], trigger: "once at 2026-11-25 10:00" };
    const { repo } = await hookRepo(2, [c], { expireAfter: "0 hours" });
    const v = await run(repo, ["validate"]);
    expect(v.exitCode).toBe(1);
    expect(v.stdout + v.stderr).toMatch(/`policy.expire_after` must be longer than zero/);
  });
});

describe("the run's clock", () => {
  it("two identical pinned runs give identical ledgers (backoff and expiry on --at, no wall-clock jitter)", async () => {
    const ledgers: unknown[][] = [];
    for (let i = 0; i < 2; i++) {
      const c: CampaignSpec = { name: "ping", template: "daily", channels: ["hook"], trigger: "once at 2026-11-25 10:00" };
      const { fakes, repo } = await hookRepo(8, [c]);
      fakes.hook.down(503);
      const r = await dispatch(repo, "2026-11-25 10:30");
      expect(r.exitCode).toBe(1);
      ledgers.push(fullLedger(repo));
    }
    expect(ledgers[0]!.length).toBe(8);
    expect(ledgers[1]).toEqual(ledgers[0]);
    // Backoff and the send left for the next run are on the run's clock: after --at, not on the wall clock.
    const at = Date.parse("2026-11-25T10:30:00+08:00");
    for (const row of ledgers[0] as { not_before: number; updated_at: number }[]) {
      expect(row.not_before).toBeGreaterThan(at);
      expect(row.not_before).toBeLessThan(at + 3_600_000);
    }
  });
});

/** Every column of every send but the provider-facing first attempt (wall clock) and the run id. */
function fullLedger(repo: TestRepo): unknown[] {
  const db = new Database(path.join(repo.dir, ".chuda/state.db"), { readonly: true });
  try {
    return db.prepare(`SELECT key, state, send_at, attempts, error_code, error_message, not_before, updated_at FROM sends ORDER BY key`).all();
  } finally {
    db.close();
  }
}

describe("exit codes and the run's moment", () => {
  it("--at in the future is refused unless --dry-run; a moment within the tolerance runs", async () => {
    const c: CampaignSpec = { name: "ping", template: "daily", channels: ["hook"], trigger: "once at 2026-11-25 10:00" };
    const { fakes, repo } = await hookRepo(5, [c]);
    repo.env.CHUDA_NOW = "2026-11-25T12:00:00+08:00";
    const future = await dispatch(repo, "2026-11-25 13:00");
    expect(future.exitCode).toBe(2);
    expect(future.stdout).toMatch(/"code": "CH9024",[^}]*--at 2026-11-25 13:00 is in the future/);
    expect(hasStackTrace(future.stderr)).toBe(false);
    expect(fakes.hook.deliveries()).toEqual([]);
    const dry = await dispatch(repo, "2026-11-25 13:00", ["--dry-run"]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).sends).toHaveLength(5);
    const ok = await dispatch(repo, "2026-11-25 12:03");
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(fakes.hook.deliveries()).toHaveLength(5);
  });

  it("a snapshot that cannot be used: exit 2 (the run could not run), nothing sent", async () => {
    const c: CampaignSpec = { name: "ping", template: "daily", channels: ["hook"], trigger: "once at 2026-11-25 10:00" };
    const { fakes, repo } = await hookRepo(3, [c]);
    const missing = await run(repo, ["dispatch", "--members", path.join(repo.dir, "missing.csv"), "--at", "2026-11-25 10:30"]);
    expect(missing.exitCode).toBe(2);
    expect(hasStackTrace(missing.stderr)).toBe(false);
    // A rejected row under --strict.
    writeFileSync(repo.members, readFileSync(repo.members, "utf8") + "M999999,王伟,13900000001,platinum,,,,,true,true,false\n");
    const strict = await dispatch(repo, "2026-11-25 10:30", ["--strict"]);
    expect(strict.exitCode, strict.stderr).toBe(2);
    expect(hasStackTrace(strict.stderr)).toBe(false);
    expect(JSON.parse(strict.stdout).diagnostics.map((d: { code: string }) => d.code)).toEqual(["CH9028"]); // --json
    expect(fakes.hook.deliveries()).toEqual([]);
    // Nothing ran: the lock is free for the next run.
    const next = await dispatch(repo, "2026-11-25 10:30");
    expect(next.exitCode, next.stderr).not.toBe(2);
  });
});

describe("--only and --dry-run cover sends pending since earlier runs", () => {
  it("--dry-run lists pending sends; --only A sends A's pending sends and none of B's", async () => {
    const a: CampaignSpec = { name: "alpha", template: "daily", channels: ["hook"], trigger: "once at 2026-11-25 10:00" };
    const b: CampaignSpec = { name: "beta", template: "daily", channels: ["hook"], trigger: "once at 2026-11-25 10:00" };
    const { members, fakes, repo } = await hookRepo(20, [a, b]);
    fakes.hook.down(503);
    expect((await dispatch(repo, "2026-11-25 10:05")).exitCode).toBe(1);
    fakes.hook.down(undefined);

    const dry = await dispatch(repo, "2026-11-25 10:20", ["--dry-run"]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    const j = JSON.parse(dry.stdout) as { sends: { campaign: string }[]; pending_from_earlier_runs: number };
    expect(j.sends).toHaveLength(2 * members.length);
    expect(j.pending_from_earlier_runs).toBe(2 * members.length);
    const plain = await run(repo, ["dispatch", "--members", repo.members, "--at", "2026-11-25 10:20", "--dry-run"]);
    expect(plain.stdout).toMatch(/Dry run: 40 sends would go out/);
    const dryOnly = await dispatch(repo, "2026-11-25 10:20", ["--dry-run", "--only", "alpha"]);
    expect(new Set((JSON.parse(dryOnly.stdout) as { sends: { campaign: string }[] }).sends.map((s) => s.campaign))).toEqual(new Set(["alpha"]));

    const only = await dispatch(repo, "2026-11-25 10:20", ["--only", "alpha"]);
    expect(only.exitCode, only.stderr).toBe(0);
    expect(summaryOf(only).sent).toBe(members.length);
    expect(delivered(fakes, "alpha")).toHaveLength(members.length);
    expect(delivered(fakes, "beta")).toEqual([]);
    expect(
      ledgerRows(repo)
        .filter((r) => r.campaign === "beta")
        .every((r) => r.state === "planned"),
    ).toBe(true);

    // The real run sends what the dry run said.
    const rest = await dispatch(repo, "2026-11-25 10:25");
    expect(summaryOf(rest).sent).toBe(members.length);
    expect(delivered(fakes, "beta")).toHaveLength(members.length);
  });
});
