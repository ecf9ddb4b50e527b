/**
 * The send loop, scenario by scenario, on a fake clock (it moves to the next timer only when nothing else can go on)
 * with a real SQLite ledger in memory and in-process drivers that implement the Driver interface and record every
 * provider call: retries, quiet hours, expiry, a stopped channel, fail-over, pacing and cancellation.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseTemplate } from "../content/index.js";
import type { Driver, DriverInstance, SendOutcome, SendRequest } from "../drivers/types.js";
import type { SendInsert } from "../ledger/types.js";
import { projectYaml, testProject } from "../../test/fixtures/project.js";
import { testSend } from "../../test/fixtures/sends.js";
import type { Project } from "../project/types.js";
import type { ResolvedCampaign } from "../resolved/types.js";
import { SqliteLedger, sendKey } from "./ledger.js";
import { backoffMs } from "./outcomes.js";
import { rateGate } from "./rate-gate.js";
import { emptySummary, runClock, type DispatchSummary, type LoadedChannel } from "./runner.js";
import { sendDue } from "./send-loop.js";
import { fakeTime, type FakeTime } from "../../test/fakes/time.js";

const HOUR = 3_600_000;
const OCC = "2026-12-24T20:00:00+08:00";
/** 20:00 in Shanghai, outside the quiet hours 21:00-09:00. */
const EVENING = Date.UTC(2026, 11, 24, 12, 0);
/** 09:00 the next morning in Shanghai: the end of the quiet hours. */
const NEXT_MORNING = Date.UTC(2026, 11, 25, 1, 0);

function projectOf(opts: { sms?: string; expireAfter?: string } = {}): Project {
  const yaml = projectYaml(
    { mobile: "phone" },
    `
policy:
  quiet_hours: "21:00-09:00"
${opts.expireAfter ? `  expire_after: ${opts.expireAfter}\n` : ""}channels:
  sms:
    driver: aliyun-sms
    address: mobile
    env: { access_key_id: A, access_key_secret: B }
${opts.sms ?? ""}
  sms2:
    driver: tencent-sms
    address: mobile
    env: { secret_id: C, secret_key: D }
`,
  );
  return testProject(yaml);
}

const TEMPLATE = parseTemplate(`sms:\n  sign: "示例广场"\n  code: "SMS_1"\n  params: { n: "1" }\n`, "templates/t.yaml", "t").template;
const CAMPAIGN = { name: "c", template: "t", channels: ["sms", "sms2"], with: {} } as unknown as ResolvedCampaign;

type Time = FakeTime;

/** One provider call as the recording driver saw it: when, on which channel, for whom. */
interface Call {
  at: number;
  channel: string;
  members: string[];
}

/**
 * An in-process driver that records every provider call: one per batch, or one per recipient (`perRecipient`), each
 * after the channel's gate when it paces itself. `answer` gives a request's outcome at its `attempt`-th call (from 1).
 */
function recordingDriver(
  time: Time,
  calls: Call[],
  answer: (r: SendRequest, attempt: number) => SendOutcome,
  opts: { batchLimit?: number; perRecipient?: boolean; paced?: boolean; reconcile?: boolean; onCall?: () => void } = {},
): Driver {
  const attempts = new Map<string, number>();
  const outcome = (r: SendRequest) => {
    const n = (attempts.get(r.key) ?? 0) + 1;
    attempts.set(r.key, n);
    return answer(r, n);
  };
  return {
    name: "recording",
    contentKind: "sms",
    batchLimit: opts.batchLimit ?? 10,
    secrets: [],
    ...(opts.paced ? { paced: true } : {}),
    ...(opts.perRecipient ? { perRecipient: true } : {}),
    create(ctx) {
      const call = (members: string[]) => {
        calls.push({ at: time.now(), channel: ctx.channel, members });
        opts.onCall?.();
      };
      const instance: DriverInstance = {
        async send(batch) {
          if (!opts.perRecipient) {
            call(batch.map((r) => r.member));
            return batch.map(outcome);
          }
          const out: SendOutcome[] = [];
          for (const r of batch) {
            if (opts.paced) await ctx.acquire?.();
            call([r.member]);
            out.push(outcome(r));
          }
          return out;
        },
        close: async () => {},
      };
      if (opts.reconcile !== false) instance.reconcile = async (requests) => requests.map(() => undefined);
      return instance;
    },
  };
}

function load(driver: Driver, channel: string, gate?: ReturnType<typeof rateGate>): LoadedChannel {
  const instance = driver.create({ channel, secrets: {}, options: {}, now: Date.now, timeoutMs: 1000, root: "/p", ...(gate ? { acquire: gate.acquire } : {}) });
  return { driver, instance, ...(gate ? { gate } : {}) };
}

const sent = (_r: SendRequest, attempt: number): SendOutcome => ({ status: "sent", providerId: `biz-${attempt}` });

let ledger: SqliteLedger;
beforeEach(() => {
  ledger = new SqliteLedger(":memory:");
});
afterEach(async () => {
  await ledger.close();
});

function send(member: string, channel: string, sendAt: number): SendInsert {
  return testSend({
    occurrence: OCC,
    member,
    channel,
    send_at: sendAt,
    address: `1380000000${member.length}`,
    content: JSON.stringify({ kind: "sms", sign: "示例广场", template: "SMS_1", params: { n: "1" } }),
    vars: JSON.stringify({ member_id: member, mobile: "13800000000" }),
  });
}

/** Runs the send loop at the run's moment `at` (the fake clock starts there) and commits what it queued. */
async function loop(
  time: Time,
  project: Project,
  channels: Map<string, LoadedChannel>,
  opts: { maxAttempts?: number; maxWaitMs?: number; aborted?: () => boolean } = {},
): Promise<DispatchSummary> {
  const at = time.now();
  const summary = emptySummary(at);
  await time.run(
    sendDue({
      project,
      ledger,
      channels,
      templates: new Map([["t", TEMPLATE]]),
      campaignsByName: new Map([["c", CAMPAIGN]]),
      at,
      runId: 1,
      clock: runClock(at, time.now, false, time.sleep),
      wall: time.now,
      sleep: time.sleep,
      maxAttempts: opts.maxAttempts ?? 3,
      maxWaitMs: opts.maxWaitMs ?? 30_000,
      summary,
      aborted: opts.aborted ?? (() => false),
    }),
  );
  await ledger.flush();
  return summary;
}

/** The ledger columns a scenario pins, of one send. */
async function stateOf(member: string, channel: string) {
  const r = (await ledger.get(sendKey("c", OCC, member, channel)))!;
  return {
    state: r.state,
    attempts: r.attempts,
    provider_id: r.provider_id,
    error_code: r.error_code,
    error_message: r.error_message,
    not_before: r.not_before,
  };
}

/** The most provider calls in any window of one second (a window starting at each call holds every fuller one). */
function mostInOneSecond(calls: Call[]): number {
  const at = calls.map((c) => c.at).sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < at.length; i++) {
    while (at[j]! < at[i]! - 999) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe("the send loop", () => {
  it("a retryable failure backs off; a backoff that ends in quiet hours waits for their end, then the send goes out", async () => {
    const project = projectOf();
    // 400 ms before the quiet hours: the backoff after the first failure (500 ms or more) ends inside them.
    const at = EVENING + HOUR - 400;
    const key = sendKey("c", OCC, "A", "sms");
    expect(backoffMs(key, 1)).toBeGreaterThanOrEqual(500);
    await ledger.insertSends([send("A", "sms", at)]);
    const time = fakeTime(at);
    const calls: Call[] = [];
    const driver = recordingDriver(time, calls, (r, n) => (n === 1 ? { status: "failed", class: "retry", code: "http_503", message: "busy" } : sent(r, n)));
    const summary = await loop(time, project, new Map([["sms", load(driver, "sms")]]), { maxWaitMs: 13 * HOUR });
    expect(calls.map((c) => c.at)).toEqual([at, NEXT_MORNING]);
    expect(await stateOf("A", "sms")).toEqual({ state: "sent", attempts: 2, provider_id: "biz-2", error_code: null, error_message: null, not_before: null });
    expect(summary).toMatchObject({ sent: 1, retries: 1, failed: 0, expired: 0, stopped: [] });
  });

  it("a send held for quiet hours longer than the run may wait stays planned until their end, for the next run", async () => {
    const project = projectOf();
    const at = EVENING + HOUR + 30 * 60_000;
    await ledger.insertSends([send("A", "sms", at)]);
    const time = fakeTime(at);
    const calls: Call[] = [];
    const summary = await loop(time, project, new Map([["sms", load(recordingDriver(time, calls, sent), "sms")]]));
    expect(calls).toEqual([]);
    expect(await stateOf("A", "sms")).toMatchObject({ state: "planned", attempts: 0, not_before: NEXT_MORNING });
    expect(summary).toMatchObject({ sent: 0, expired: 0 });
  });

  it("a send past its expiry is marked expired and never sent, also one that expires while it waits out quiet hours", async () => {
    const project = projectOf({ expireAfter: "10 hours" });
    // 21:30, in the quiet hours: A was planned for now and expires at 07:30, before they end; B is 11 hours old.
    const at = EVENING + HOUR + 30 * 60_000;
    await ledger.insertSends([send("A", "sms", at), send("B", "sms", at - 11 * HOUR)]);
    const time = fakeTime(at);
    const calls: Call[] = [];
    const summary = await loop(time, project, new Map([["sms", load(recordingDriver(time, calls, sent), "sms")]]), { maxWaitMs: 13 * HOUR });
    expect(calls).toEqual([]);
    const expired = {
      state: "expired",
      attempts: 0,
      provider_id: null,
      error_code: "expired",
      error_message: "expired: not sent within 10 hours of its planned time",
      not_before: null,
    };
    expect(await stateOf("B", "sms")).toEqual(expired);
    expect(await stateOf("A", "sms")).toEqual(expired);
    // A waited until the end of the quiet hours, and was found expired then.
    expect(time.now()).toBe(NEXT_MORNING);
    expect(summary).toMatchObject({ sent: 0, expired: 2 });
  });

  it("an account-level refusal stops that channel for the run (the run's exit 1): its sends stay planned, the other channel goes on", async () => {
    const project = projectOf();
    await ledger.insertSends([send("A", "sms", EVENING), send("B", "sms", EVENING), send("C", "sms2", EVENING)]);
    const time = fakeTime(EVENING);
    const calls: Call[] = [];
    const refused: SendOutcome = { status: "failed", class: "stop", code: "isv.AMOUNT_NOT_ENOUGH", message: "balance" };
    const refusing = recordingDriver(time, calls, () => refused);
    const channels = new Map([
      ["sms", load(refusing, "sms")],
      ["sms2", load(recordingDriver(time, calls, sent), "sms2")],
    ]);
    const summary = await loop(time, project, channels);
    // One batch on sms, then nothing more on it.
    expect(calls.filter((c) => c.channel === "sms").map((c) => c.members)).toEqual([["A", "B"]]);
    const pending = { state: "planned", attempts: 1, provider_id: null, error_code: "isv.AMOUNT_NOT_ENOUGH", error_message: "balance", not_before: null };
    expect(await stateOf("A", "sms")).toEqual(pending);
    expect(await stateOf("B", "sms")).toEqual(pending);
    expect(await stateOf("C", "sms2")).toMatchObject({ state: "sent", attempts: 1 });
    expect(summary.stopped).toEqual([{ channel: "sms", code: "isv.AMOUNT_NOT_ENOUGH", message: "balance", reason: "balance exhausted" }]);
    expect(summary).toMatchObject({ sent: 1, failed: 0 });
  });

  it("an outage past the retry budget stops the channel and its due sends fail over to its failover channel", async () => {
    const project = projectOf({ sms: "    failover: sms2" });
    await ledger.insertSends([send("A", "sms", EVENING), send("B", "sms", EVENING)]);
    const time = fakeTime(EVENING);
    const calls: Call[] = [];
    const down: SendOutcome = { status: "failed", class: "retry", code: "http_503", message: "down" };
    const failing = recordingDriver(time, calls, () => down);
    const channels = new Map([
      ["sms", load(failing, "sms")],
      ["sms2", load(recordingDriver(time, calls, sent), "sms2")],
    ]);
    const summary = await loop(time, project, channels, { maxAttempts: 3 });
    // Each send backs off by its own key: A's third failure comes before B's third try, and stops the channel.
    const [a, b] = ["A", "B"].map((m) => sendKey("c", OCC, m, "sms"));
    expect(backoffMs(a!, 1) + backoffMs(a!, 2)).toBeLessThan(backoffMs(b!, 1) + backoffMs(b!, 2));
    const triesOn = (channel: string, member: string) => calls.filter((c) => c.channel === channel && c.members.includes(member)).length;
    expect([triesOn("sms", "A"), triesOn("sms", "B"), triesOn("sms2", "A"), triesOn("sms2", "B")]).toEqual([3, 2, 1, 1]);
    const failedOver = {
      provider_id: null,
      error_code: "failover",
      error_message: "channel sms stopped (an outage past the retry budget); sent through sms2 instead",
    };
    expect(await stateOf("A", "sms")).toMatchObject({ state: "failed", attempts: 3, ...failedOver });
    expect(await stateOf("B", "sms")).toMatchObject({ state: "failed", attempts: 2, ...failedOver });
    for (const m of ["A", "B"])
      expect(await stateOf(m, "sms2")).toEqual({ state: "sent", attempts: 1, provider_id: "biz-1", error_code: null, error_message: null, not_before: null });
    expect(summary.stopped).toEqual([
      { channel: "sms", code: "http_503", message: "down", reason: "an outage past the retry budget", failover: { channel: "sms2", sends: 2 } },
    ]);
    expect(summary).toMatchObject({ sent: 2, retries: 5, by_channel: { sms2: { sent: 2 } } });
  });

  it.each([
    { how: "the runner paces a per-recipient driver per batch, in batches of one", paced: false },
    { how: "a driver that takes the channel's gate before each call is handed whole batches and keeps the rate itself", paced: true },
  ])("never more provider calls in any second than the rate: $how", async ({ paced }) => {
    const project = projectOf({ sms: "    rate_limit: 10" });
    const members = Array.from({ length: 35 }, (_, i) => `M${String(i).padStart(2, "0")}`);
    await ledger.insertSends(members.map((m) => send(m, "sms", EVENING)));
    const time = fakeTime(EVENING);
    const calls: Call[] = [];
    const driver = recordingDriver(time, calls, sent, { perRecipient: true, paced, batchLimit: 10 });
    const summary = await loop(time, project, new Map([["sms", load(driver, "sms", paced ? rateGate(10, time.now, time.sleep) : undefined)]]));
    expect(calls.length).toBe(35);
    expect(mostInOneSecond(calls)).toBeLessThanOrEqual(10);
    expect(summary).toMatchObject({ sent: 35, by_channel: { sms: { sent: 35 } } });
    expect((await ledger.counts()).map(({ channel, state, n }) => ({ channel, state, n }))).toEqual([{ channel: "sms", state: "sent", n: 35 }]);
  });

  it("a retry of a send read early in a long pass goes out once its backoff ends, not when the pass is over", async () => {
    // 1,000 sends at 10 calls a second: a pass of 100 calls, read a few rounds of batches at a time, each read
    // starting where the last one ended. The first send fails once.
    const project = projectOf({ sms: "    rate_limit: 10" });
    const members = Array.from({ length: 1000 }, (_, i) => `M${String(i).padStart(3, "0")}`);
    await ledger.insertSends(members.map((m) => send(m, "sms", EVENING)));
    const time = fakeTime(EVENING);
    const calls: Call[] = [];
    const driver = recordingDriver(time, calls, (r, n) =>
      r.member === "M000" && n === 1 ? { status: "failed", class: "retry", code: "http_503", message: "busy" } : sent(r, n),
    );
    const summary = await loop(time, project, new Map([["sms", load(driver, "sms")]]));
    const withFirst = calls.filter((c) => c.members.includes("M000"));
    expect(withFirst).toHaveLength(2);
    const retryDue = withFirst[0]!.at + backoffMs(sendKey("c", OCC, "M000", "sms"), 1);
    // Read again from the first as soon as it is due: within one read's worth of calls (16 at 10 a second).
    expect(withFirst[1]!.at).toBeGreaterThanOrEqual(retryDue);
    expect(withFirst[1]!.at - retryDue).toBeLessThan(2_000);
    expect(calls.at(-1)!.at - withFirst[1]!.at).toBeGreaterThan(5_000);
    expect(calls.flatMap((c) => c.members).sort()).toEqual([...members, "M000"].sort());
    expect(summary).toMatchObject({ sent: 1000, retries: 1 });
  });

  it("a send planned during a pass before where its reads have got to is sent in the same run, once", async () => {
    const members = Array.from({ length: 300 }, (_, i) => `M${String(i).padStart(3, "0")}`);
    await ledger.insertSends(members.map((m) => send(m, "sms", EVENING)));
    const time = fakeTime(EVENING);
    const calls: Call[] = [];
    // At the fifth call, a send due earlier than all the others is planned (a fallback, a send another worker let go).
    const driver = recordingDriver(time, calls, sent, {
      onCall: () => void (calls.length === 5 && ledger.insertSends([send("EARLY", "sms", EVENING - 60_000)])),
    });
    const summary = await loop(time, projectOf(), new Map([["sms", load(driver, "sms")]]));
    expect(calls.flatMap((c) => c.members).sort()).toEqual([...members, "EARLY"].sort());
    expect((await stateOf("EARLY", "sms")).state).toBe("sent");
    expect(summary.sent).toBe(301);
  });

  it("once cancelled, no new provider call leaves: the sends not yet called stay planned", async () => {
    const project = projectOf({ sms: "    concurrency: 1" });
    await ledger.insertSends(["A", "B", "C", "D"].map((m) => send(m, "sms", EVENING)));
    const time = fakeTime(EVENING);
    const calls: Call[] = [];
    let cancelled = false;
    // No `reconcile`: batches of one. Cancelled during the second call.
    const driver = recordingDriver(time, calls, sent, { reconcile: false, onCall: () => (cancelled = calls.length >= 2) });
    const summary = await loop(time, project, new Map([["sms", load(driver, "sms")]]), { aborted: () => cancelled });
    expect(calls.map((c) => c.members)).toEqual([["A"], ["B"]]);
    expect(await Promise.all(["A", "B", "C", "D"].map(async (m) => (await stateOf(m, "sms")).state))).toEqual(["sent", "sent", "planned", "planned"]);
    expect(summary.sent).toBe(2);
  });
});
