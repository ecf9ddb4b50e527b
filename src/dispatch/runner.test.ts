/**
 * A run as its steps: reconcile what an earlier run left, plan and record what is due, the send loop, and how the run
 * ended, on a fake clock with real DuckDB members, a real SQLite ledger in memory and an in-process driver.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { parseTemplate } from "../content/index.js";
import type { Driver, SendOutcome, SendRequest } from "../drivers/types.js";
import { aliyunSmsChannel, projectYaml, testProject } from "../../test/fixtures/project.js";
import { testCampaign } from "../../test/fixtures/campaign.js";
import type { Project } from "../project/types.js";
import { SqliteLedger, sendKey } from "./ledger.js";
import { runDispatch, type DispatchEvent, type DispatchSummary, type MemberSource } from "./runner.js";
import type { ResolvedCampaign } from "../resolved/types.js";
import { fakeTime } from "../../test/fakes/time.js";

const YAML = projectYaml(
  { mobile: "phone" },
  `
channels:
${aliyunSmsChannel()}
`,
);
/** 10:00 on 24 December in Shanghai: the campaign's daily occurrence. */
const AT = Date.UTC(2026, 11, 24, 2, 0);
const OCC = "2026-12-24T10:00+08:00";
const TEMPLATE = parseTemplate(`sms:\n  sign: "示例广场"\n  code: "SMS_1"\n  params: { n: "1" }\n`, "templates/t.yaml", "t").template;
/** Everyone, every day at 10:00, on sms with template t. */
const CAMPAIGN = testCampaign();

let project: Project;
let instance: DuckDBInstance;
let conn: DuckDBConnection;
let ledger: SqliteLedger;

beforeAll(async () => {
  project = testProject(YAML);
  instance = await DuckDBInstance.create(":memory:");
  conn = await instance.connect();
  await conn.run(`CREATE TABLE members AS SELECT * FROM (VALUES ('A', '13800000001'), ('B', '13800000002')) t(member_id, mobile)`);
});
afterAll(() => conn.closeSync());
beforeEach(() => {
  ledger = new SqliteLedger(":memory:");
});
afterEach(async () => {
  await ledger.close();
});

/** An in-process driver answering every request with `answer`, recording the members of each call and reconcile. */
function driver(answer: (r: SendRequest) => SendOutcome, seen: { sent: string[]; reconciled: string[] }): Driver {
  return {
    name: "recording",
    contentKind: "sms",
    batchLimit: 10,
    secrets: [],
    create: () => ({
      send: async (batch) => {
        seen.sent.push(...batch.map((r) => r.member));
        return batch.map(answer);
      },
      reconcile: async (requests) => {
        seen.reconciled.push(...requests.map((r) => r.member));
        return requests.map((): SendOutcome => ({ status: "sent", providerId: "found" }));
      },
      close: async () => {},
    }),
  };
}

async function dispatch(
  answer: (r: SendRequest) => SendOutcome,
  opts: { signal?: AbortSignal; held?: boolean; members?: MemberSource; campaign?: ResolvedCampaign; at?: number } = {},
) {
  const at = opts.at ?? AT;
  const time = fakeTime(at);
  const seen = { sent: [] as string[], reconciled: [] as string[] };
  const d = driver(answer, seen);
  const events: DispatchEvent[] = [];
  const summary: DispatchSummary = await time.run(
    runDispatch({
      project,
      campaigns: [opts.campaign ?? CAMPAIGN],
      templates: new Map([["t", TEMPLATE]]),
      members: opts.members ?? { conn, table: "members", count: 2 },
      at,
      ledger,
      channels: new Map([["sms", { driver: d, instance: d.create({ channel: "sms", secrets: {}, options: {}, now: time.now, timeoutMs: 1000, root: "/p" }) }]]),
      now: time.now,
      pinned: true,
      sleep: time.sleep,
      lock: { held: () => opts.held ?? true },
      onEvent: (e) => events.push(e),
      ...(opts.signal ? { signal: opts.signal } : {}),
    }),
  );
  const runs = await ledger.runs();
  const states = Object.fromEntries((await ledger.counts()).map((c) => [`${c.channel} ${c.state}`, c.n]));
  return { summary, seen, events, status: runs[0]!.status, states };
}

const sent = (): SendOutcome => ({ status: "sent", providerId: "biz" });

describe("a dispatch run", () => {
  it("reconciles a send a killed run left in flight, plans and records what is due, sends it, and ends done", async () => {
    // A killed run left Z's send of yesterday's occurrence in flight.
    const yesterday = "2026-12-23T10:00:00+08:00";
    await ledger.insertSends([
      {
        ...{ key: sendKey("c", yesterday, "Z", "sms"), campaign: "c", occurrence: yesterday, member: "Z", channel: "sms", state: "planned" },
        ...{ send_at: AT - 86_400_000, address: "13800000009", sender: null, content: "{}", fallbacks: null, vars: null, run_id: 0, updated_at: AT },
      },
    ]);
    const [z] = await ledger.due("sms", AT, AT, 10);
    await ledger.markInFlightQueued([z!.id], 0, AT);
    const { summary, seen, events, status, states } = await dispatch(sent);
    expect(seen.reconciled).toEqual(["Z"]);
    expect(seen.sent.sort()).toEqual(["A", "B"]);
    expect(states).toEqual({ "sms sent": 3 });
    expect(status).toBe("done");
    expect(summary).toMatchObject({ occurrences: 1, planned: 2, sent: 2, pending: 0, stopped: [] });
    expect(events[0]).toMatchObject({ type: "reconciled", resolved: 1, unknown: 0 });
    expect(events[1]).toEqual({ type: "planned", sends: 2, heldOut: 0, occurrences: 1, byChannel: { sms: 2 }, replanned: 0, withdrawn: 0 });
    expect(events.at(-1)).toMatchObject({ type: "progress", channel: "sms", sent: 2, failed: 0, total: 2 });
    const row = async (occurrence: string, member: string) => {
      const r = (await ledger.get(sendKey("c", occurrence, member, "sms")))!;
      return { state: r.state, provider_id: r.provider_id, attempts: r.attempts, send_at: r.send_at };
    };
    expect(await row(yesterday, "Z")).toEqual({ state: "sent", provider_id: "found", attempts: 1, send_at: AT - 86_400_000 });
    for (const m of ["A", "B"]) expect(await row(OCC, m)).toEqual({ state: "sent", provider_id: "biz", attempts: 1, send_at: AT });
  });

  it("ends stopped, with its sends pending, when the channel refuses the account (the command then exits 1)", async () => {
    const { summary, status, states } = await dispatch(() => ({ status: "failed", class: "stop", code: "InvalidAccessKeyId", message: "refused" }));
    expect(status).toBe("stopped");
    expect(states).toEqual({ "sms planned": 2 });
    expect(summary).toMatchObject({ planned: 2, sent: 0, pending: 2 });
    expect(summary.stopped).toEqual([{ channel: "sms", code: "InvalidAccessKeyId", message: "refused", reason: "credentials refused" }]);
  });

  it("cancelled before it plans: nothing is planned or sent, and the run is recorded interrupted", async () => {
    const stop = new AbortController();
    stop.abort();
    const { summary, seen, status, states } = await dispatch(sent, { signal: stop.signal });
    expect(seen.sent).toEqual([]);
    expect(states).toEqual({});
    expect(status).toBe("interrupted");
    expect(summary).toMatchObject({ interrupted: true, planned: 0, pending: 0 });
  });

  it("refuses to run without the dispatch lock: sends in flight are never settled by a run that does not hold it", async () => {
    await expect(dispatch(sent, { held: false })).rejects.toThrow("the dispatch lock is not held");
  });

  it("reads a snapshot given as a loader only when a plan needs it, once, and records its size with the run", async () => {
    let reads = 0;
    const members: MemberSource = async () => {
      reads++;
      return { conn, table: "members", count: 2 };
    };
    // Once, on the 30th at 10:00: nothing is due on the 24th, and the snapshot is never read.
    const once = testCampaign({ trigger: { kind: "once", date: "2026-12-30", time: 600 } });
    const idle = await dispatch(sent, { members, campaign: once });
    expect(reads).toBe(0);
    expect(idle.status).toBe("done");
    expect(idle.summary).toMatchObject({ occurrences: 0, planned: 0, sent: 0 });
    expect(await ledger.lastSnapshotSize()).toBeUndefined();

    const due = await dispatch(sent, { members, campaign: once, at: Date.UTC(2026, 11, 30, 2, 0) });
    expect(reads).toBe(1);
    expect(due.seen.sent.sort()).toEqual(["A", "B"]);
    expect(await ledger.lastSnapshotSize()).toBe(2);
  });

  it("ends failed, and says why, when its snapshot cannot be read", async () => {
    const members: MemberSource = async () => {
      throw new Error("the snapshot members.csv cannot be read");
    };
    await expect(dispatch(sent, { members })).rejects.toThrow("the snapshot members.csv cannot be read");
    const [run] = await ledger.runs();
    expect(run).toMatchObject({ status: "failed" });
    expect(run!.finished_at).not.toBeNull();
    expect(await ledger.counts()).toEqual([]);
  });
});
