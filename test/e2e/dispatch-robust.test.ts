/**
 * `chuda dispatch` under hostile conditions (issue 15): concurrent runs, a stale lock holder, a receiver that refuses
 * the credentials or keeps saying "slow down", the ledger deleted or swapped during or between runs, SIGTERM and
 * kill -9, a reader that closes the pipe, more unknown sends than `status` lists, and the rate measured where the
 * provider sees it.
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { execa } from "execa";
import { fault } from "../fakes/common.js";
import { BIN, REPO, hasStackTrace } from "./cli.js";
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
  waitFor,
  type CampaignSpec,
  type Fakes,
  type TestRepo,
} from "./dispatch-helpers.js";

const AT = "2026-12-24 10:30";
const ONCE = "once at 2026-12-24 10:00";
const SMS: CampaignSpec = { name: "daily", template: "daily", channels: ["sms"], trigger: ONCE };
const PING: CampaignSpec = { name: "ping", template: "daily", channels: ["hook"], trigger: ONCE };

const open: Fakes[] = [];
afterAll(async () => {
  await Promise.all(open.map((f) => f.close()));
});

async function hookRepo(n: number, seed: number, fakeOpts: Parameters<typeof startFakes>[1] = {}, hook: Record<string, unknown> = {}) {
  const members = makeMembers(n, seed);
  const fakes = await startFakes(members, fakeOpts);
  open.push(fakes);
  const repo = makeRepo({ channels: { hook: { ...fakes.channels.hook!, ...hook } }, campaigns: [PING], members });
  // Everyone not unsubscribed gets the ping.
  const expected = members.filter((m) => !m.unsubscribed).length;
  return { members, fakes, repo, expected };
}

/** Starts `chuda dispatch` in the background. */
function startDispatch(repo: TestRepo, env: Record<string, string> = {}) {
  return execa(process.execPath, [BIN, "dispatch", "--members", repo.members, "--at", AT, "--json"], {
    cwd: repo.dir,
    env: { CI: "true", NO_COLOR: "1", ...repo.env, ...env },
    reject: false,
  });
}

describe("content a channel refuses", () => {
  it("is recorded failed (content_refused) and never sent; the run exits 1 for the campaign's author", async () => {
    const members = makeMembers(20, 77).map((m) => ({ ...m, sms_opt_in: true, unsubscribed: false }));
    // Aliyun refuses a template parameter over 35 characters: this member's name makes the SMS unsendable.
    members[3] = { ...members[3]!, name: "欧阳".repeat(20) };
    const fakes = await startFakes(members);
    open.push(fakes);
    const repo = makeRepo({ channels: { sms: fakes.channels.sms! }, campaigns: [SMS], members });
    const r = await dispatch(repo, AT);
    expect(r.exitCode, r.stderr).toBe(1);
    const summary = summaryOf(r);
    expect(summary.failures).toEqual({ "sms content_refused": 1 });
    expect(summary.sent).toBe(19);
    expect(fakes.deliveries().map((d) => d.member)).not.toContain(members[3]!.member_id);
    const refused = ledgerRows(repo).filter((x) => x.state === "failed");
    expect(refused.map((x) => x.member)).toEqual([members[3]!.member_id]);
    // The same run in words names the channel and what to do.
    const text = await run(repo, ["dispatch", "--members", repo.members, "--at", AT]);
    expect(text.exitCode).toBe(0); // nothing new: the refused send is recorded, not retried
  });
});

describe("the dispatch lock", () => {
  it("lets exactly one of three simultaneous runs send: every member gets the SMS once (10 trials)", { timeout: 600_000 }, async () => {
    for (let trial = 0; trial < 10; trial++) {
      const members = makeMembers(60, 500 + trial);
      // Answers take a little while, so that the runs overlap while sends are in flight.
      const fakes = await startFakes(members, { sms: { script: Array.from({ length: 200 }, () => fault.slow(20)) } });
      open.push(fakes);
      const repo = makeRepo({ channels: { sms: { ...fakes.channels.sms!, concurrency: 2 } }, campaigns: [SMS], members });
      const runs = await Promise.all([0, 1, 2].map(() => dispatch(repo, AT)));
      for (const r of runs) {
        expect([0, 2], r.stderr).toContain(r.exitCode);
        // Under --json the refusal is a JSON diagnostic on stdout.
        if (r.exitCode === 2) expect(r.stdout).toMatch(/"code": "CH9026",[^}]*another dispatch is running/);
        expect(hasStackTrace(r.stderr)).toBe(false);
      }
      const phones = fakes.sms.deliveries().map((d) => d.phone);
      expect(duplicates(phones), `trial ${trial}`).toEqual([]);
      const eligible = members.filter((m) => m.sms_opt_in && !m.unsubscribed).length;
      expect(phones.length, `trial ${trial}`).toBe(eligible);
      expect(runs.reduce((n, r) => n + (r.exitCode === 0 ? summaryOf(r).sent : 0), 0)).toBe(eligible);
      await fakes.close();
      open.splice(open.indexOf(fakes), 1);
    }
  });

  it("is never blocked by a stale holder: an old pid file and a recorded pid 1", async () => {
    const { fakes, repo, expected } = await hookRepo(20, 11);
    mkdirSync(path.join(repo.dir, ".chuda"), { recursive: true });
    // What the old pid-file lock left after a container restart: pid 1 is alive, and not ours.
    writeFileSync(path.join(repo.dir, ".chuda/dispatch.lock"), JSON.stringify({ pid: 1, since: "2026-12-01T00:00:00.000Z" }));
    const db = new Database(path.join(repo.dir, ".chuda/dispatch.lock.db"));
    db.exec("CREATE TABLE holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, since TEXT NOT NULL)");
    db.prepare("INSERT INTO holder VALUES (1, 1, '2026-12-01T00:00:00.000Z')").run();
    db.close();
    const r = await dispatch(repo, AT);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(fakes.hook.deliveries().length).toBe(expected);
  });

  it("names the holder of the lock, and frees it when the holder is killed with kill -9", { timeout: 120_000 }, async () => {
    const { fakes, repo, expected } = await hookRepo(
      40,
      22,
      { hook: { script: Array.from({ length: 40 }, () => fault.slow(200)) } },
      { concurrency: 1, options: { url: "https://crm.example.com/chuda/hook", concurrency: 1 } },
    );
    const first = startDispatch(repo);
    await waitFor(() => fakes.hook.received() >= 1, 60_000, "the first delivery");
    const second = await dispatch(repo, AT);
    expect(second.exitCode).toBe(2);
    expect(second.stdout).toContain(`another dispatch is running in this repository (pid ${first.pid}, since `);
    first.kill("SIGKILL");
    await first;
    // Until the next dispatch marks it interrupted, status says the run marked running shows no sign of life.
    const st = await run(repo, ["status", "--json"]);
    expect(JSON.parse(st.stdout).runs[0]).toMatchObject({ status: "running", stale: true });
    const words = await run(repo, ["status"]);
    expect(words.stdout).toMatch(/running\? no sign of life \(its process is gone\): killed\?/);
    const third = await dispatch(repo, AT);
    expect(third.exitCode, third.stderr).toBe(0);
    expect(fakes.hook.deliveries().length).toBe(expected);
  });
});

describe("webhook credentials and routing errors", () => {
  it("a wrong secret stops the channel and keeps every send pending; the right secret then sends each once", async () => {
    const { fakes, repo, expected } = await hookRepo(25, 12);
    const wrong = await run({ ...repo, env: { ...repo.env, HOOK_SECRET: "not-the-secret" } }, ["dispatch", "--members", repo.members, "--at", AT, "--json"]);
    expect(wrong.exitCode).toBe(1);
    const s1 = summaryOf(wrong);
    expect(s1.failed).toBe(0);
    expect(s1.pending).toBe(expected);
    expect((s1 as unknown as { stopped: { code: string }[] }).stopped.map((s) => s.code)).toEqual(["http_401"]);
    expect((await status(repo)).sends).toMatchObject({ planned: expected, failed: 0, sent: 0 });

    const right = await dispatch(repo, AT);
    expect(right.exitCode, right.stderr).toBe(0);
    expect(summaryOf(right).sent).toBe(expected);
    expect(fakes.hook.deliveries().length).toBe(expected);
    expect(fakes.hook.received()).toBe(expected);
  });
});

describe("a provider that keeps answering 429 Retry-After: 0", () => {
  it("ends the run after a bounded number of calls, with the sends still pending", { timeout: 120_000 }, async () => {
    const { fakes, repo, expected } = await hookRepo(30, 13, {}, { concurrency: 4 });
    fakes.hook.respond(429, { "retry-after": "0" }, 1_000_000);
    const r = await dispatch(repo, AT);
    expect(r.exitCode, r.stderr).toBe(1);
    const s = summaryOf(r);
    expect(s.sent + s.failed + s.unknown).toBe(0);
    expect(s.pending).toBe(expected);
    // At most 1 + 5 deferrals per send.
    expect(fakes.hook.requests()).toBeGreaterThanOrEqual(expected);
    expect(fakes.hook.requests()).toBeLessThanOrEqual(expected * 6);
    expect(fakes.hook.deliveries()).toEqual([]);
    expect((await status(repo)).sends).toMatchObject({ planned: expected, in_flight: 0, failed: 0 });
  });

  it("stops the channel after 1,000 deferrals in a run", { timeout: 120_000 }, async () => {
    const { fakes, repo, expected } = await hookRepo(260, 24, {}, { concurrency: 4 });
    fakes.hook.respond(429, { "retry-after": "0" }, 1_000_000);
    const r = await dispatch(repo, AT);
    expect(r.exitCode, r.stderr).toBe(1);
    const s = summaryOf(r) as ReturnType<typeof summaryOf> & { stopped: { channel: string; code: string }[] };
    expect(s.stopped).toMatchObject([{ channel: "hook", code: "deferred_too_often" }]);
    expect(s.pending).toBe(expected);
    // The batches already in flight when the cap was reached (4 of at most 50) finish; nothing after them.
    expect(fakes.hook.requests()).toBeGreaterThan(1000);
    expect(fakes.hook.requests()).toBeLessThanOrEqual(1000 + 4 * 50);
    expect((await status(repo)).sends).toMatchObject({ planned: expected, in_flight: 0, failed: 0 });
  });
});

describe("the ledger deleted or replaced", () => {
  it("a run whose ledger is deleted under it stops with exit 2; the next run refuses without --new-ledger", { timeout: 120_000 }, async () => {
    // Batches of 50 (the webhook driver's), two at a time, each call answered after 20 ms.
    const { fakes, repo, expected } = await hookRepo(
      400,
      14,
      { hook: { script: Array.from({ length: 400 }, () => fault.slow(20)) } },
      { concurrency: 2, options: { url: "https://crm.example.com/chuda/hook", concurrency: 1 } },
    );
    const child = startDispatch(repo);
    await waitFor(() => fakes.hook.received() >= 3, 60_000, "the first deliveries");
    unlinkSync(path.join(repo.dir, ".chuda/state.db"));
    const r = await child;
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toMatch(/"code": "CH9030",[^}]*the ledger .*state\.db was deleted during the run; the run stopped/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    const sentBefore = fakes.hook.received();
    // The batches in flight finished; no new batch left.
    expect(sentBefore).toBeLessThan(expected - 100);

    for (const args of [["dispatch", "--members", repo.members, "--at", AT], ["status"]]) {
      const again = await run(repo, args);
      expect(again.exitCode, args[0]).toBe(2);
      expect(again.stderr).toMatch(/the ledger \.chuda\/state\.db is missing, but this repository has dispatched before/);
      expect(again.stderr).toMatch(/--new-ledger/);
      expect(hasStackTrace(again.stderr)).toBe(false);
    }
    expect(fakes.hook.received()).toBe(sentBefore);
    const fresh = await run(repo, ["status", "--new-ledger", "--json"]);
    expect(fresh.exitCode, fresh.stderr).toBe(0);
  });

  it("a ledger copied in from another history is refused by status and dispatch without --new-ledger", async () => {
    const a = await hookRepo(10, 15);
    const b = await hookRepo(10, 16);
    expect((await dispatch(a.repo, AT)).exitCode).toBe(0);
    expect((await dispatch(b.repo, AT)).exitCode).toBe(0);
    copyFileSync(path.join(a.repo.dir, ".chuda/state.db"), path.join(b.repo.dir, ".chuda/state.db"));
    for (const args of [["dispatch", "--members", b.repo.members, "--at", AT], ["status"]]) {
      const r = await run(b.repo, args);
      expect(r.exitCode, args[0]).toBe(2);
      expect(r.stderr).toMatch(/the ledger \.chuda\/state\.db is not this repository's/);
    }
    const adopt = await run(b.repo, ["dispatch", "--members", b.repo.members, "--at", AT, "--new-ledger", "--json"]);
    expect(adopt.exitCode, adopt.stderr).toBe(0);
    expect((await run(b.repo, ["status", "--json"])).exitCode).toBe(0);
  });
});

describe("signals", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const)
    it(`${signal}: the calls in flight finish and are recorded, the run is marked interrupted, lock and temp files freed`, { timeout: 120_000 }, async () => {
      const { fakes, repo, expected } = await hookRepo(
        300,
        signal === "SIGTERM" ? 17 : 25,
        { hook: { script: Array.from({ length: 300 }, () => fault.slow(20)) } },
        { concurrency: 2, options: { url: "https://crm.example.com/chuda/hook", concurrency: 1 } },
      );
      const tmp = mkdtempSync(path.join(os.tmpdir(), "chuda-sigterm-"));
      const child = startDispatch(repo, { TMPDIR: tmp });
      await waitFor(() => fakes.hook.received() >= 4, 60_000, "the first deliveries");
      process.kill(child.pid!, signal);
      const r = await child;
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toContain(`interrupted by ${signal}`);
      expect(hasStackTrace(r.stderr)).toBe(false);
      expect(summaryOf(r)).toMatchObject({ interrupted: true });
      expect(readdirSync(tmp).filter((f) => f.startsWith("chuda-members-"))).toEqual([]);
      rmSync(tmp, { recursive: true, force: true });

      // Everything the receiver got is recorded as sent; nothing is left in flight.
      const delivered = fakes.hook.deliveries().length;
      expect(delivered).toBeLessThan(expected);
      const st = await status(repo);
      expect(st.runs[0]!.status).toBe("interrupted");
      expect(st.sends).toMatchObject({ in_flight: 0, unknown: 0, sent: delivered, planned: expected - delivered });

      // The lock is free: the next run sends the rest, each once.
      const next = await dispatch(repo, AT);
      expect(next.exitCode, next.stderr).toBe(0);
      expect(fakes.hook.deliveries().length).toBe(expected);
      expect(fakes.hook.received()).toBe(expected);
    });

  it("SIGTERM during simulate: exit 143, the temporary snapshot directory removed", { timeout: 120_000 }, async () => {
    const members = makeMembers(30_000, 23);
    const repo = makeRepo({ channels: { hook: { driver: "webhook", options: { url: "https://crm.example.com/chuda/hook" } } }, campaigns: [PING], members });
    const tmp = mkdtempSync(path.join(os.tmpdir(), "chuda-sigterm-"));
    const child = execa(process.execPath, [BIN, "simulate", "--members", repo.members, "--from", "2026-12-01", "--to", "2026-12-31"], {
      cwd: repo.dir,
      env: { CI: "true", NO_COLOR: "1", TMPDIR: tmp },
      reject: false,
    });
    let exited = false;
    void child.then(() => (exited = true));
    await waitFor(() => exited || readdirSync(tmp).some((f) => f.startsWith("chuda-members-")), 60_000, "the snapshot's temporary directory");
    expect(exited).toBe(false);
    process.kill(child.pid!, "SIGTERM");
    const r = await child;
    expect(r.exitCode).toBe(143);
    expect(readdirSync(tmp)).toEqual([]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it("after kill -9 the next run marks the dead run interrupted", { timeout: 120_000 }, async () => {
    const { fakes, repo } = await hookRepo(
      40,
      18,
      { hook: { script: Array.from({ length: 40 }, () => fault.slow(150)) } },
      { concurrency: 1, options: { url: "https://crm.example.com/chuda/hook", concurrency: 1 } },
    );
    const child = startDispatch(repo);
    await waitFor(() => fakes.hook.received() >= 2, 60_000, "the first deliveries");
    child.kill("SIGKILL");
    await child;
    expect((await status(repo)).runs[0]!.status).toBe("running");
    const next = await dispatch(repo, AT);
    expect(next.exitCode, next.stderr).toBe(0);
    const runs = (await status(repo)).runs;
    expect(runs.map((x) => x.status)).toEqual(["done", "interrupted"]);
  });
});

describe("a reader that closes the pipe (EPIPE)", () => {
  /** Runs the CLI with its stdout a pipe whose reading end is closed at once. */
  function withClosedStdout(args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, CI: "true", NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.destroy();
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += String(d)));
      child.on("close", (code) => resolve({ code, stderr }));
    });
  }

  it("status and validate --format json exit quietly", { timeout: 120_000 }, async () => {
    const { repo } = await hookRepo(10, 19);
    expect((await dispatch(repo, AT)).exitCode).toBe(0);
    for (const [args, cwd] of [
      [["status"], repo.dir],
      [["validate", "--format", "json"], REPO],
    ] as const) {
      const r = await withClosedStdout([...args], cwd);
      expect(r.stderr, args.join(" ")).toBe("");
      expect(hasStackTrace(r.stderr)).toBe(false);
      expect(r.code).not.toBeNull();
    }
  });
});

describe("status with many unknown sends", () => {
  it("lists 50, says how many more, --all lists all, JSON gives the total", async () => {
    const { repo, expected } = await hookRepo(70, 20);
    expect((await dispatch(repo, AT)).exitCode).toBe(0);
    const db = new Database(path.join(repo.dir, ".chuda/state.db"));
    db.exec("UPDATE sends SET state = 'unknown', error_code = 'in_flight_at_crash'");
    db.close();
    expect(expected).toBeGreaterThan(55);
    const plain = await run(repo, ["status"]);
    expect(plain.exitCode).toBe(0);
    expect(plain.stdout).toContain(`… and ${expected - 50} more (chuda status --all)`);
    const all = await run(repo, ["status", "--all"]);
    expect(all.stdout).not.toContain("more (chuda status --all)");
    expect(all.stdout.split("\n").filter((l) => /^ping\s.*\sM\d{6}\s/.test(l)).length).toBe(expected);
    const json = JSON.parse((await run(repo, ["status", "--json"])).stdout) as { unknown: unknown[]; unknown_total: number };
    expect(json.unknown.length).toBe(50);
    expect(json.unknown_total).toBe(expected);
    const jsonAll = JSON.parse((await run(repo, ["status", "--json", "--all"])).stdout) as { unknown: unknown[] };
    expect(jsonAll.unknown.length).toBe(expected);
    expect(ledgerRows(repo).length).toBe(expected);
  });
});

describe("rate_limit measured at the receiver", () => {
  for (const [rate, n] of [
    [20, 90],
    [150, 500],
  ] as const)
    it(`never more than rate_limit (${rate}) arrivals in any 1000 ms window`, { timeout: 120_000 }, async () => {
      const { fakes, repo, expected } = await hookRepo(n, 21, {}, { rateLimit: rate, concurrency: 4 });
      const r = await dispatch(repo, AT);
      expect(r.exitCode, r.stderr).toBe(0);
      const at = fakes.hook
        .deliveries()
        .map((d) => d.at)
        .sort((a, b) => a - b);
      expect(at.length).toBe(expected);
      expect(expected).toBeGreaterThan(rate * 3);
      let max = 0;
      for (let i = 0, j = 0; i < at.length; i++) {
        while (at[i]! - at[j]! > 1000) j++;
        max = Math.max(max, i - j + 1);
      }
      expect(max).toBeLessThanOrEqual(rate);
    });
});
