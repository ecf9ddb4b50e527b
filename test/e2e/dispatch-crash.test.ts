/**
 * Crash safety of `chuda dispatch` (issue 7): the built CLI is killed with SIGKILL at seeded random moments — after
 * the fake has seen k more requests, or after a random delay that may land in start-up or planning — and started
 * again, many times over; then a run is let finish. Afterwards no recipient was delivered twice, and every send
 * the dry run listed was either delivered or is reported `unknown` by `chuda status --json`.
 *
 * Three drivers: `wechat-template`, whose sends left in flight are reconciled (re-sent with the same client_msg_id
 * inside the provider's 10-minute dedupe window), and `aliyun-sms` (QuerySendDetails by phone and OutId), so that
 * nothing of theirs may end unknown; and `wechat-subscribe`, which has no way to ask, so its in-flight sends become
 * `unknown` and are never re-sent.
 */
import { afterAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { fault, mulberry32 } from "../fakes/common.js";
import { BIN } from "./cli.js";
import {
  cmc,
  dispatch,
  duplicates,
  ledgerRows,
  makeMembers,
  makeRepo,
  startFakes,
  status,
  summaryOf,
  waitFor,
  type CampaignSpec,
  type Fakes,
} from "./dispatch-helpers.js";

const AT = "2026-12-24 10:30";
const ONCE = "once at 2026-12-24 10:00";
const CAMPAIGNS: CampaignSpec[] = [
  { name: "gift", template: "gift", channels: ["template_message"], trigger: ONCE, holdout: 10, with: { coupon: "XMAS50", amount: 50 } },
  { name: "notice", template: "notice", channels: ["subscribe"], trigger: ONCE },
  { name: "daily", template: "daily", channels: ["sms"], trigger: ONCE },
];
/** Channels whose sends left in flight the driver can settle with the provider: none of them may end unknown. */
const RECONCILED = ["template_message", "sms"];
const SCENARIOS = [101, 202, 303, 404];
/** Kill points per scenario: a fixed number (never a wall-clock budget), of which at least 10 in all must land. */
const KILLS_PER_SCENARIO = 5;

const open: Fakes[] = [];
afterAll(async () => {
  await Promise.all(open.map((f) => f.close()));
});

/** What one scenario shows of the crash-recovery machinery. */
interface Evidence {
  killsDone: number;
  resentDeduped: number;
  smsLookups: number;
}

/** One seeded scenario: kills, then runs to the end; asserts no duplicate and nothing unaccounted for. */
async function scenario(seed: number): Promise<Evidence> {
  let killsDone = 0;
  const rng = mulberry32(seed);
  const members = makeMembers(250, seed);
  // Every message call is answered late: a run takes a few seconds, so kills land mid-send.
  const fakes = await startFakes(members, {
    wechat: { script: Array.from({ length: 6000 }, () => fault.slow(15, "/message/")) },
    sms: { script: Array.from({ length: 2000 }, () => fault.slow(60)) },
    consents: 3,
  });
  open.push(fakes);
  const channels = {
    template_message: { ...fakes.channels.template_message!, concurrency: 2, options: { concurrency: 2 } },
    subscribe: { ...fakes.channels.subscribe!, concurrency: 2, options: { concurrency: 2 } },
    sms: { ...fakes.channels.sms!, concurrency: 1, options: { concurrency: 1 } },
  };
  const repo = makeRepo({ channels, campaigns: CAMPAIGNS, members });
  const dry = await dispatch(repo, AT, ["--dry-run"]);
  expect(dry.exitCode, dry.stderr).toBe(0);
  const planned = (JSON.parse(dry.stdout).sends as { campaign: string; member: string; channel: string }[]).map(cmc).sort();
  expect(planned.length).toBeGreaterThan(450);
  const calls = () => fakes.wechat.state.calls.length + fakes.sms.calls().length;
  const log: string[] = [];

  for (let i = 0; i < KILLS_PER_SCENARIO; i++) {
    const byCalls = rng() < 0.7;
    const k = 1 + Math.floor(rng() * 80);
    const delay = Math.floor(rng() * 2500);
    const base = calls();
    const started = Date.now();
    const child = execa(process.execPath, [BIN, "dispatch", "--members", repo.members, "--at", AT, "--json"], {
      cwd: repo.dir,
      env: { CI: "true", NO_COLOR: "1", ...repo.env },
      reject: false,
    });
    let exited = false;
    void child.then(() => (exited = true));
    await waitFor(() => exited || (byCalls ? calls() >= base + k : Date.now() - started >= delay), 120_000, "the kill point");
    const killed = !exited && child.kill("SIGKILL");
    const r = await child;
    log.push(`${byCalls ? `after ${k} calls` : `after ${delay} ms`}: ${killed ? `killed (${calls() - base} calls)` : `finished first (exit ${r.exitCode})`}`);
    if (killed) {
      killsDone++;
      expect(r.signal, log.join("\n")).toBe("SIGKILL");
    } else expect([0, 1], `${log.join("\n")}\n${r.stderr}`).toContain(r.exitCode);
    // After every kill: nothing delivered twice so far.
    expect(duplicates(fakes.deliveries().map(cmc)), log.join("\n")).toEqual([]);
  }

  // Let it finish (a resumed run sends what was planned and not in flight; a second one would find nothing).
  for (let run = 0; run < 3; run++) {
    const r = await dispatch(repo, AT);
    expect([0, 1], `${log.join("\n")}\n${r.stderr}`).toContain(r.exitCode);
    summaryOf(r);
    const st = await status(repo);
    if (st.sends.planned === 0 && st.sends.in_flight === 0) break;
  }

  const tally = new Map<string, number>();
  for (const x of ledgerRows(repo))
    tally.set(`${x.channel} ${x.state} ${x.error_code ?? ""}`, (tally.get(`${x.channel} ${x.state} ${x.error_code ?? ""}`) ?? 0) + 1);
  const why = `seed ${seed}, kill points:\n${log.join("\n")}\nledger: ${[...tally].map(([k, n]) => `${k}: ${n}`).join("; ")}`;
  const delivered = fakes.deliveries().map(cmc);
  expect(duplicates(delivered), why).toEqual([]);
  const st = await status(repo);
  expect(st.sends, why).toMatchObject({ planned: 0, in_flight: 0, failed: 0 });
  expect(st.sends.unknown, why).toBeLessThan(50); // status lists at most 50: all of them here
  const unknown = st.unknown.map(cmc);
  expect(unknown.length).toBe(st.sends.unknown);

  // Nothing delivered that was not planned; every planned send delivered or reported unknown.
  const plannedSet = new Set(planned);
  expect(
    delivered.filter((d) => !plannedSet.has(d)),
    why,
  ).toEqual([]);
  const accounted = new Set([...delivered, ...unknown]);
  expect(
    planned.filter((p) => !accounted.has(p)),
    why,
  ).toEqual([]);
  // The template message and Aliyun reconcile: none of their sends may stay unknown, each was delivered once.
  for (const ch of RECONCILED) {
    expect(
      unknown.filter((u) => u.endsWith(`|${ch}`)),
      why,
    ).toEqual([]);
    expect(delivered.filter((d) => d.endsWith(`|${ch}`)).sort(), why).toEqual(planned.filter((p) => p.endsWith(`|${ch}`)));
  }
  // The ledger agrees: sent rows are exactly the delivered ones, except unknown sends the provider may have performed.
  const rows = ledgerRows(repo);
  const sent = rows.filter((x) => x.state === "sent").map(cmc);
  expect(
    sent.filter((x) => !delivered.includes(x)),
    why,
  ).toEqual([]);
  expect(
    delivered.filter((d) => !sent.includes(d) && !unknown.includes(d)),
    why,
  ).toEqual([]);
  expect(st.runs.length).toBeGreaterThanOrEqual(2);
  // Evidence that the reconcilers ran: template messages re-sent under their client_msg_id (answered by the
  // provider's dedupe, no second delivery), and Aliyun receipts looked up.
  const templateCalls = fakes.wechat.state.calls.filter((c) => c.path.endsWith("/template/send")).length;
  return {
    killsDone,
    resentDeduped: templateCalls - fakes.wechat.deliveries().length,
    smsLookups: fakes.sms.calls().filter((c) => c.action === "QuerySendDetails").length,
  };
}

describe("chuda dispatch killed with SIGKILL at random moments", () => {
  // One test for all seeds: the totals it checks at the end are its own, not left by other tests.
  it(
    `seeds ${SCENARIOS.join(", ")}: no duplicate, nothing unsent that status does not report unknown, and the reconcilers had work`,
    { timeout: 1_200_000 },
    async () => {
      const evidence: Evidence[] = [];
      for (const seed of SCENARIOS) evidence.push(await scenario(seed));
      const total = (k: keyof Evidence) => evidence.reduce((n, e) => n + e[k], 0);
      const why = JSON.stringify(evidence.map((e, i) => ({ seed: SCENARIOS[i], ...e })));
      expect(total("killsDone"), why).toBeGreaterThanOrEqual(10);
      expect(total("resentDeduped"), why).toBeGreaterThan(0);
      expect(total("smsLookups"), why).toBeGreaterThan(0);
    },
  );
});
