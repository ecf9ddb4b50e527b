/**
 * Carries out a Plan through the drivers. It decides nothing about who gets what: the planner did
 * (src/plan). What it owns: the ledger protocol (planned → in_flight → sent | queued | failed | unknown),
 * retries with backoff, fallback to the next channel after a permanent recipient failure, rate limits,
 * reconciliation of sends left in flight by a crash.
 */
import type { ResolvedCampaign, IR } from "../resolved/types.js";
import type { Template, RenderedContent } from "../content/types.js";
import type { Driver, DriverInstance, SendOutcome } from "../drivers/types.js";
import { plan } from "../plan/plan.js";
import { allowedAt, expireAfterMs } from "./send-time.js";
import { reconcileInFlight, reconcileQueued } from "./reconcile.js";
import { makeBatches, nextFallback, toRequest } from "./requests.js";
import { expiredMessage, OutcomeHandler } from "./outcomes.js";
import { sendRowsOf } from "./plan-rows.js";

export { allowedAt, expireAfterMs } from "./send-time.js";
export { dedupeId } from "./requests.js";
import { dueWindow, missedOccurrences, occurrenceDays, type MissedOccurrence } from "../plan/window.js";
import { messageCost } from "../plan/content.js";
import type { BusinessEvent, MemberTable, Plan } from "../plan/types.js";
import { bindLinks, LINKS_KEY, type BoundLink } from "../content/track.js";
import type { Project } from "../project/types.js";
import { NEXT_RUN_MS, sendKey } from "./ledger.js";
import type { DueSend, Ledger, SendInsert, SendResult } from "../ledger/types.js";

export interface LoadedChannel {
  driver: Driver;
  instance: DriverInstance;
  /**
   * The channel's rate gate when the instance was created with `acquire: gate.acquire` in its DriverContext
   * (see `rateGate`): the driver then paces every provider call itself. Without it the runner paces per batch.
   */
  gate?: RateGate;
}

export type DispatchEvent =
  | { type: "planned"; sends: number; heldOut: number; occurrences: number; byChannel: Record<string, number>; replanned?: number; withdrawn?: number }
  | { type: "progress"; channel: string; sent: number; failed: number; total: number; failures: Record<string, number> }
  | { type: "retry"; channel: string; code: string; count: number }
  | { type: "stop"; channel: string; code: string; message: string; reason?: string }
  | { type: "reconciled"; resolved: number; unknown: number }
  | { type: "staff"; sent: number; failed: number; expired: number; waiting: number };

export interface DispatchInput {
  project: Project;
  campaigns: ResolvedCampaign[];
  exclude?: IR;
  templates: Map<string, Template>;
  members: MemberTable;
  /** The run's moment T: occurrences whose sends are due at or before T, within the catch-up window. */
  at: number;
  /** Business events not yet planned (`chuda serve`): the occurrences of event-triggered campaigns. */
  events?: BusinessEvent[];
  ledger: Ledger;
  channels: Map<string, LoadedChannel>;
  /** The wall clock: the runs table, and what providers see (first attempts). The run's own clock is `runClock`. */
  now: () => number;
  /**
   * The run's moment was given (`--at`, `CHUDA_NOW`): the run's clock starts at `at` and advances only by what the run
   * waits, so the same inputs give the same ledger every time. Otherwise it follows the wall clock from `at`.
   */
  pinned?: boolean;
  sleep?: (ms: number) => Promise<void>;
  maxAttempts?: number;
  /** Longest wait inside one run for a deferred or backed-off send (ms); longer waits are left to the next run. */
  maxWaitMs?: number;
  onEvent?: (e: DispatchEvent) => void;
  /** The dispatch lock, held by this process (see lock.ts): no other run is alive while this one works. */
  lock: { held: () => boolean };
  /**
   * Aborted on SIGTERM or SIGINT: no new provider call leaves; the calls in flight finish and are recorded, and the
   * run is marked `interrupted`.
   */
  signal?: AbortSignal;
}

export { backoffMs, MAX_DEFERS_PER_RUN, MAX_DEFERS_PER_SEND, MIN_DEFER_MS, stopReason } from "./outcomes.js";

export interface DispatchSummary {
  at: string;
  occurrences: number;
  planned: number;
  held_out: number;
  sent: number;
  queued: number;
  failed: number;
  unknown: number;
  pending: number;
  /** Pending sends this run found past their expiry: never sent (state `expired`). */
  expired: number;
  retries: number;
  fallbacks: number;
  missed: MissedOccurrence[];
  /** Occurrences an earlier run planned, planned again against this run's snapshot, and the new sends they got. */
  replanned: number;
  replanned_sends: number;
  /** Pending sends of members no longer eligible when their occurrence was planned again: never sent. */
  withdrawn: number;
  by_channel: Record<string, { sent: number; queued: number; failed: number; unknown: number }>;
  failures: Record<string, number>;
  /**
   * Channels stopped for the run, with why in words (`reason`), and where their due sends went when the channel
   * names a `failover` channel.
   */
  stopped: { channel: string; code: string; message: string; reason: string; failover?: { channel: string; sends: number } }[];
  /** WeCom tasks waiting for staff, asked about at the start of the run: what their sends became. */
  staff_tasks?: { sent: number; failed: number; expired: number; waiting: number };
  /** Set when SIGTERM or SIGINT ended the run early. */
  interrupted?: boolean;
}

/**
 * Plans what is due at T (the same planner as `simulate --at T`). An occurrence an earlier run planned is planned
 * again against this snapshot: the members that run planned are left as they are (see `Ledger.committed`).
 */
export async function planDue(
  input: Omit<DispatchInput, "channels" | "now" | "lock">,
  withMembers = true,
): Promise<{ plan: Plan; missed: DispatchSummary["missed"] }> {
  const { project, ledger } = input;
  const due = dueWindow(project, input.at);
  const skip = await ledger.plannedOccurrences();
  const committed = await ledger.committed(due.fromMs, due.toMs);
  const result = await plan({
    project,
    campaigns: input.campaigns,
    exclude: input.exclude,
    templates: input.templates,
    members: input.members,
    ...occurrenceDays(due, project.timezone),
    due,
    committed,
    spent: await committedSpend(ledger, project, input.campaigns, committed),
    history: await ledger.history(),
    suppressed: (await ledger.suppressions?.()) ?? [],
    memberRows: withMembers,
    ...(input.events ? { events: input.events } : {}),
  });
  // Occurrences that were due in the week before the catch-up window and never planned: reported, not sent.
  return { plan: result, missed: missedOccurrences(input.campaigns, project, due, skip) };
}

/** A run's clock: its moment T, advanced by the run's waits (pinned) or by the wall clock since the run began. */
export function runClock(at: number, wall: () => number, pinned: boolean, sleep: (ms: number) => Promise<void>) {
  const wall0 = wall();
  let waited = 0;
  const now = () => (pinned ? at + waited : at + (wall() - wall0));
  return {
    now,
    /** Waits until the run's clock reads `t`. */
    async sleepUntil(t: number): Promise<void> {
      await sleep(Math.max(10, t - now()));
      if (pinned) waited = Math.max(waited, t - at);
    },
  };
}

/** One send a dry run shows: planned now, or pending since an earlier run. */
export interface DrySend {
  campaign: string;
  occurrence: string;
  member: string;
  channel: string;
  address: string | null;
  /** Planned by an earlier run and still pending. */
  earlier: boolean;
}

/**
 * What a real run at T would send (`dispatch --dry-run`): the sends it would plan and those pending since earlier runs,
 * less what it would expire or hold back for quiet hours or a send window. `waiting`: sends held back.
 */
export async function drySends(
  input: Omit<DispatchInput, "channels" | "now" | "lock">,
  p: Plan,
): Promise<{ sends: DrySend[]; waiting: number; expiring: number; withdrawing: number }> {
  const { project, ledger } = input;
  const byName = new Map(input.campaigns.map((c) => [c.name, c]));
  const t = input.at;
  const sends: DrySend[] = [];
  let waiting = 0;
  let expiring = 0;
  // Occurrences planned again: a pending send of a member no longer eligible would be withdrawn, not sent.
  const replanned = new Set(p.occurrences.filter((o) => o.funnel.plannedBefore !== undefined).map((o) => `${o.campaign.name}|${o.occurrence.id}`));
  let withdrawing = 0;
  const keep = (campaign: string, sendAt: number): boolean => {
    const c = byName.get(campaign);
    if (t >= sendAt + expireAfterMs(project, c)) expiring++;
    else if (allowedAt(project, c, t) > t) waiting++;
    else return true;
    return false;
  };
  const planned = new Set<string>();
  for (const d of p.decisions) {
    if (!d.channel || d.contentErrors) continue;
    planned.add(sendKey(d.campaign, d.occurrence, d.member, d.channel));
    if (keep(d.campaign, d.sendAt))
      sends.push({ campaign: d.campaign, occurrence: d.occurrence, member: d.member, channel: d.channel, address: d.address ?? null, earlier: false });
  }
  for (const r of await ledger.pendingDue(input.at)) {
    if (planned.has(r.key)) continue;
    if (replanned.has(`${r.campaign}|${r.occurrence}`) && !p.kept?.has(`${r.campaign}|${r.occurrence}|${r.member}|${r.channel}`)) {
      withdrawing++;
      continue;
    }
    // A backoff still running (not the marker of a send left for the next run) keeps it back.
    if (r.not_before !== null && r.not_before > t && r.not_before !== r.updated_at + NEXT_RUN_MS) {
      waiting++;
      continue;
    }
    if (keep(r.campaign, r.send_at))
      sends.push({ campaign: r.campaign, occurrence: r.occurrence, member: r.member, channel: r.channel, address: r.address, earlier: true });
  }
  return { sends, waiting, expiring, withdrawing };
}

export async function runDispatch(input: DispatchInput): Promise<DispatchSummary> {
  const { ledger, project } = input;
  const wall = input.now;
  const sleep = input.sleep ?? ((ms) => timerSleep(ms, input.signal));
  // Send times, backoff, deferrals and expiry are read on the run's clock, never mixed with the wall clock.
  const clock = runClock(input.at, wall, input.pinned ?? false, sleep);
  const now = clock.now;
  const maxAttempts = input.maxAttempts ?? 3;
  const maxWait = input.maxWaitMs ?? 30_000;
  const runId = await ledger.startRun(input.at, wall(), input.members.count);
  // The caller holds the dispatch lock: a run still marked running is one whose process died (kill -9, power loss).
  await ledger.markDeadRunsInterrupted(runId, wall());
  const aborted = () => input.signal?.aborted ?? false;
  await ledger.releaseForNextRun();
  const summary: DispatchSummary = {
    at: new Date(input.at).toISOString(),
    occurrences: 0,
    planned: 0,
    held_out: 0,
    sent: 0,
    queued: 0,
    failed: 0,
    unknown: 0,
    pending: 0,
    expired: 0,
    retries: 0,
    fallbacks: 0,
    missed: [],
    replanned: 0,
    replanned_sends: 0,
    withdrawn: 0,
    by_channel: {},
    failures: {},
    stopped: [],
    staff_tasks: { sent: 0, failed: 0, expired: 0, waiting: 0 },
  };
  const chan = (c: string) => (summary.by_channel[c] ??= { sent: 0, queued: 0, failed: 0, unknown: 0 });
  const campaignsByName = new Map(input.campaigns.map((c) => [c.name, c]));

  // Several workers on one shared ledger plan one at a time (see `Ledger.lockPlanning`); released once the plan is recorded.
  let releasePlanning = async () => {};
  const interrupted = async () => {
    await releasePlanning();
    summary.interrupted = true;
    summary.pending = await ledger.plannedCount();
    await ledger.finishRun(runId, wall(), "interrupted", summary);
    return summary;
  };
  // 1. Sends a killed run left in flight: ask the provider, else mark unknown (never re-sent automatically). Only
  // under the lock: sends in flight of a run that is still alive must never be settled, let alone sent again.
  if (!input.lock.held()) throw new Error("the dispatch lock is not held: sends in flight are not reconciled");
  await reconcileInFlight(input, summary, runId);
  // 1b. WeCom tasks waiting for a staff member: confirmed, refused, or past their expiry (then canceled).
  await reconcileQueued(input, summary, runId, now);
  if (aborted()) return interrupted();

  // 2. Plan what is due and record it before any call.
  if (ledger.lockPlanning) releasePlanning = await ledger.lockPlanning();
  const plannedBefore = await ledger.plannedOccurrences();
  const { plan: p, missed } = await planDue(input);
  if (aborted()) return interrupted();
  summary.missed = missed;
  const t = now();
  // Occurrences planned again: pending sends of members no longer eligible are withdrawn, never sent.
  const replanned = new Set<string>();
  for (const o of p.occurrences) {
    const k = `${o.campaign.name}|${o.occurrence.id}`;
    if (!plannedBefore.has(k)) continue;
    replanned.add(k);
    summary.withdrawn += await ledger.withdraw(o.campaign.name, o.occurrence.id, (m, ch) => p.kept?.has(`${k}|${m}|${ch}`) ?? false, t);
  }
  summary.replanned = replanned.size;
  summary.withdrawn += await withdrawStale(input, t);
  const { rows, refused } = sendRowsOf(p, project, runId, t, replanned, summary);
  await bindTrackedLinks(ledger, rows);
  const recorded = await ledger.recordPlan(
    p.occurrences.map((o) => ({ campaign: o.campaign.name, occurrence: o.occurrence.id, sendAt: o.sendAt, audience: o.funnel.audience })),
    rows,
    runId,
  );
  // Held-out members of an occurrence planned again were recorded by the run that first planned it.
  summary.held_out = recorded.heldOut;
  if (refused.length) await ledger.finish(refused, t);
  await releasePlanning();
  summary.occurrences = p.occurrences.length;
  const byChannel: Record<string, number> = {};
  for (const r of rows) if (r.state === "planned") byChannel[r.channel] = (byChannel[r.channel] ?? 0) + 1;
  input.onEvent?.({
    type: "planned",
    sends: summary.planned,
    heldOut: summary.held_out,
    occurrences: summary.occurrences,
    byChannel,
    replanned: summary.replanned,
    withdrawn: summary.withdrawn,
  });
  // Pending sends past their expiry (planned by this run or an earlier one) are never sent.
  summary.expired += await ledger.expire(
    input.campaigns.map((c) => ({ campaign: c.name, afterMs: expireAfterMs(project, c) })),
    expireAfterMs(project, undefined),
    now(),
  );

  // 3. Send, channel by channel in parallel, until nothing due remains (or only waits longer than maxWait).
  const stopped = new Set<string>();
  const stopChannel = (channel: string, code: string, message: string, reason: string) => {
    if (stopped.has(channel)) return;
    stopped.add(channel);
    summary.stopped.push({ channel, code, message, reason });
    input.onEvent?.({ type: "stop", channel, code, message, reason });
  };
  const settle = new OutcomeHandler({
    project,
    ledger,
    templates: input.templates,
    campaignsByName,
    runId,
    maxAttempts,
    summary,
    wall,
    stopChannel,
    isStopped: (channel) => stopped.has(channel),
    onEvent: input.onEvent,
  });
  /** A stopped channel's due sends move to its `failover` channel (same content kind), unless that one stopped too. */
  const failOver = async (channel: string) => {
    const to = project.channels.get(channel)?.failover;
    const entry = summary.stopped.find((x) => x.channel === channel);
    if (!to || !entry || stopped.has(to) || !input.channels.has(to)) return;
    const t = now();
    const results: SendResult[] = [];
    const inserts: SendInsert[] = [];
    for (const due of await ledger.due(channel, input.at, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) {
      const row = await ledger.row(due.id);
      if (!row) continue;
      const rest = row.fallbacks ? (JSON.parse(row.fallbacks) as string[]) : [];
      const via = { ...row, fallbacks: JSON.stringify([to, ...rest]) };
      const next = await nextFallback(via, campaignsByName.get(row.campaign), input.templates, project, t, runId, ledger);
      if (!next || next.channel !== to) continue;
      inserts.push(next);
      results.push({
        id: due.id,
        key: due.key,
        state: "failed",
        error_code: "failover",
        error_message: `channel ${channel} stopped (${entry.reason}); sent through ${to} instead`,
      });
    }
    await ledger.finish(results, t, inserts);
    entry.failover = { channel: to, sends: inserts.length };
  };
  const sendChannel = async (channel: string) => {
    await sendChannelOnce(channel);
    if (stopped.has(channel)) await failOver(channel);
  };
  const sendChannelOnce = async (channel: string) => {
    const loaded = input.channels.get(channel);
    if (!loaded) return;
    const cfg = project.channels.get(channel)!;
    // Rate: a driver created with the channel's gate as `acquire` paces each provider call (exact for drivers that
    // make one call per recipient or split a batch). Otherwise the runner takes one token per batch (exact only when
    // a batch is one call).
    const gate = loaded.gate ?? rateGate(cfg.rateLimit, wall, sleep);
    const declaredPaced = loaded.gate !== undefined && !!loaded.driver.paced;
    const paced = () => declaredPaced || (loaded.gate?.hooked ?? false);
    const concurrency = Math.max(1, cfg.concurrency ?? 4);
    // A driver that cannot settle an interrupted send (no `reconcile`) gets one request per batch: a crash then
    // leaves at most `concurrency` sends unknown, not a whole batch marked in flight that mostly never left.
    // A rate-limited per-recipient driver the runner paces per batch (its instance was created without the gate):
    // batches of one, so that one token is one provider call.
    const perBatchOnly = !!cfg.rateLimit && !paced() && !!loaded.driver.perRecipient;
    const batchSize = loaded.instance.reconcile && !perBatchOnly ? Math.max(1, loaded.driver.batchLimit) : 1;
    // Workers pull batches from one queue that is refilled from the ledger as soon as it runs dry, so that no worker
    // waits for the slowest batch of a round (that gap cost throughput and a share of a configured rate). `held`:
    // sends fetched and not finished yet, never fetched twice (a retried send must wait out its backoff).
    const held = new Set<number>();
    const parsed = new Map<string, RenderedContent>();
    let batches: DueSend[][] = [];
    let cursor = 0;
    const fetchBatches = async (): Promise<boolean> => {
      let rows: DueSend[] = [];
      while (!rows.length) {
        const due = (await ledger.due(channel, input.at, now(), batchSize * concurrency * 4)).filter((r) => !held.has(r.id));
        if (!due.length) return false;
        rows = await sendableNow(due);
      }
      for (const r of rows) held.add(r.id);
      batches = makeBatches(rows, batchSize, !!loaded.driver.batchSameContent);
      cursor = 0;
      if (parsed.size > 10_000) parsed.clear();
      return true;
    };
    // One refill at a time: workers that find the queue empty wait for the same fetch (two would fetch the same rows).
    let refilling: Promise<boolean> | undefined;
    const refill = () => (refilling ??= fetchBatches().finally(() => (refilling = undefined)));
    const worker = async () => {
      for (;;) {
        if (stopped.has(channel) || aborted()) return;
        while (cursor >= batches.length) if (!(await refill()) || stopped.has(channel) || aborted()) return;
        const batch = batches[cursor++]!;
        try {
          if (!paced()) await gate.take();
          if (aborted()) return;
          await sendBatch(channel, loaded, batch, parsed);
        } finally {
          for (const r of batch) held.delete(r.id);
        }
      }
    };
    for (;;) {
      await Promise.all(Array.from({ length: concurrency }, worker));
      if (stopped.has(channel) || aborted()) return;
      if (await ledger.hasDue(channel, input.at, now())) continue;
      const next = await ledger.nextNotBefore(input.at, channel);
      if (next === undefined || next - now() > maxWait) return;
      await clock.sleepUntil(next);
    }
  };

  /**
   * Every attempt keeps the send-time rules, not only the first: of due sends, those past their expiry become
   * `expired`, those in quiet hours or outside their campaign's window wait for the next allowed moment (a retry, a
   * send left pending by an earlier run, an occurrence found late). Returns the rest.
   */
  const sendableNow = async (due: DueSend[]): Promise<DueSend[]> => {
    const t = now();
    const ready: DueSend[] = [];
    const expired: SendResult[] = [];
    const waiting = new Map<number, number[]>();
    const allowed = new Map<string, number>();
    for (const r of due) {
      const c = campaignsByName.get(r.campaign);
      const after = expireAfterMs(project, c);
      if (t >= r.send_at + after) {
        expired.push({ id: r.id, key: r.key, state: "expired", error_code: "expired", error_message: expiredMessage(after) });
        continue;
      }
      let at = allowed.get(r.campaign);
      if (at === undefined) allowed.set(r.campaign, (at = allowedAt(project, c, t)));
      if (at > t) {
        const ids = waiting.get(at);
        if (ids) ids.push(r.id);
        else waiting.set(at, [r.id]);
      } else ready.push(r);
    }
    if (expired.length) {
      await ledger.finish(expired, t);
      summary.expired += expired.length;
    }
    for (const [at, ids] of waiting) await ledger.postpone(ids, at);
    return ready;
  };

  const sendBatch = async (channel: string, loaded: LoadedChannel, batch: DueSend[], parsed: Map<string, RenderedContent>) => {
    // Durably in flight before the call leaves (group commit with the other workers' marks and results).
    const inflight = await ledger.markInFlightQueued(
      batch.map((r) => r.id),
      runId,
      wall(),
    );
    const rows = inflight.size === batch.length ? batch : batch.filter((r) => inflight.has(r.id));
    if (!rows.length) return;
    const requests = rows.map((r) => toRequest(r, parsed));
    let outcomes: SendOutcome[];
    try {
      outcomes = await loaded.instance.send(requests);
    } catch (e) {
      // A driver that throws is a bug or a transport surprise: treat like an answer we never got.
      outcomes = requests.map(() => ({ status: "failed", class: "ambiguous", code: "driver_error", message: (e as Error).message }));
    }
    const ambiguous: number[] = [];
    outcomes.forEach((o, i) => o.status === "failed" && o.class === "ambiguous" && ambiguous.push(i));
    if (ambiguous.length) {
      let rec: (SendOutcome | undefined)[] = [];
      if (loaded.instance.reconcile) {
        try {
          rec = await loaded.instance.reconcile(ambiguous.map((i) => requests[i]!));
        } catch {
          rec = [];
        }
      }
      ambiguous.forEach((i, j) => {
        const r = rec[j];
        outcomes[i] = r ?? {
          status: "failed",
          class: "ambiguous",
          code: outcomes[i]!.status === "failed" ? (outcomes[i] as { code: string }).code : "ambiguous",
          message: "no answer; the provider cannot tell whether it was sent",
        };
      });
    }
    const t = now();
    const { results, fallbacks } = await settle.batch(channel, rows, outcomes, t);
    const c = chan(channel);
    // Committed with the next group commit; until then the rows stay in flight (never re-sent after a crash).
    await ledger.queueFinish(results, t, fallbacks);
    input.onEvent?.({ type: "progress", channel, sent: c.sent + c.queued, failed: c.failed, total: summary.planned, failures: summary.failures });
  };

  const channels = [...new Set(await ledger.dueChannels(input.at))];
  await Promise.all(channels.map(sendChannel));
  // Fallbacks may have opened channels that had nothing due at the start.
  for (let round = 0; round < 3 && !aborted(); round++) {
    const more = (await ledger.dueChannels(input.at)).filter((c) => !stopped.has(c) && input.channels.has(c));
    const ready: string[] = [];
    for (const c of more) if (await ledger.hasDue(c, input.at, now())) ready.push(c);
    if (!ready.length) break;
    await Promise.all(ready.map(sendChannel));
  }
  if (aborted()) return interrupted();
  summary.pending = await ledger.plannedCount();
  await ledger.finishRun(runId, wall(), summary.stopped.length ? "stopped" : "done", summary);
  return summary;
}

/** A real timer, cleared when `signal` aborts (a pending timer would keep an interrupted process alive). */
function timerSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done);
  });
}

/** What the sends an earlier run planned cost, per occurrence of a campaign with a budget (see `PlanInput.spent`). */
export async function committedSpend(
  ledger: Ledger,
  project: Project,
  campaigns: ResolvedCampaign[],
  committed: Map<string, Set<string>>,
): Promise<Map<string, number>> {
  const budgeted = new Set(campaigns.filter((c) => c.budget !== undefined).map((c) => c.name));
  const out = new Map<string, number>();
  for (const k of committed.keys()) {
    const [campaign, occurrence] = [k.slice(0, k.indexOf("|")), k.slice(k.indexOf("|") + 1)];
    if (!budgeted.has(campaign)) continue;
    let cost = 0;
    for (const r of await ledger.committedContent(campaign, occurrence))
      cost += messageCost(project.channels.get(r.channel)?.price, r.content ? (JSON.parse(r.content) as RenderedContent) : undefined);
    out.set(k, cost);
  }
  return out;
}

/**
 * Pending sends of occurrences older than the catch-up window (left by an outage): those occurrences get no new
 * members, but their members' eligibility is checked against this snapshot all the same, and a pending send of a
 * member no longer eligible is withdrawn. Returns how many.
 */
async function withdrawStale(input: DispatchInput, now: number): Promise<number> {
  const { project, ledger } = input;
  const { fromMs } = dueWindow(project, input.at);
  const names = new Set(input.campaigns.map((c) => c.name));
  const stale = (await ledger.pendingOccurrences(fromMs)).filter((o) => names.has(o.campaign));
  if (!stale.length) return 0;
  const due = { fromMs: stale[0]!.send_at, toMs: fromMs - 1 };
  const p = await plan({
    project,
    campaigns: input.campaigns.filter((c) => stale.some((o) => o.campaign === c.name)),
    exclude: input.exclude,
    templates: input.templates,
    members: input.members,
    ...occurrenceDays(due, project.timezone),
    due,
    committed: await ledger.committed(due.fromMs, due.toMs),
    history: await ledger.history(),
    suppressed: (await ledger.suppressions?.()) ?? [],
    memberRows: true,
    render: false,
  });
  const planned = new Set(p.occurrences.map((o) => `${o.campaign.name}|${o.occurrence.id}`));
  let withdrawn = 0;
  for (const o of stale) {
    const k = `${o.campaign}|${o.occurrence}`;
    // An occurrence the calendar no longer has (its campaign's trigger changed) is left alone.
    if (planned.has(k)) withdrawn += await ledger.withdraw(o.campaign, o.occurrence, (m, ch) => p.kept?.has(`${k}|${m}|${ch}`) ?? false, now);
  }
  return withdrawn;
}

/**
 * Sends whose content tracks links (`{{track}}`) get their own link ids before they are recorded; the links are
 * committed first, so a recorded send's links always resolve.
 */
async function bindTrackedLinks(ledger: Ledger, rows: SendInsert[]): Promise<void> {
  let secret: string | undefined;
  const links: BoundLink[] = [];
  for (const r of rows) {
    if (r.content === null || !r.content.includes(LINKS_KEY)) continue;
    secret ??= await ledger.linkSecret();
    const bound = bindLinks(r.content, r.key, secret);
    r.content = bound.content;
    links.push(...bound.links);
  }
  if (links.length) await ledger.insertLinks(links);
}

export interface RateGate {
  /**
   * For drivers, as `DriverContext.acquire`: resolves when the next provider call may leave. Marks the gate as used
   * by its driver (the runner then stops pacing per batch).
   */
  acquire: () => Promise<void>;
  /** The same bucket, for the runner's per-batch pacing of drivers that do not call `acquire`. */
  take: () => Promise<void>;
  /** Whether a driver has called `acquire`. */
  readonly hooked: boolean;
}

const RESOLVED = Promise.resolve();
const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Slack added to the one-second window of a `rate_limit`, for the jitter between a call leaving and reaching the
 * provider: the gate keeps n calls per 1000 + RATE_MARGIN_MS ms where it measures (when calls leave), so that no
 * second the provider measures holds more than n. It costs a tenth of the rate; 25 ms (2.4 %) let a receiver on a
 * busy machine see 21 calls in a second at `rate_limit: 20` (test/e2e/dispatch-robust.test.ts).
 */
export const RATE_MARGIN_MS = 100;

/**
 * A channel's provider-call pacing from its `rate_limit` (calls per second); unlimited when unset. A sliding-window
 * limiter: with n the rate rounded down (a fractional rate cannot be met in whole calls otherwise) and
 * W = 1000 + RATE_MARGIN_MS ms, a call may leave only when the call n places before it left W or more ago. The gate
 * keeps when the last n calls actually left (a ring), so a timer that fires late delays the calls after it and never
 * lets them bunch up: no window of W ms (closed or open) holds more than n calls, whatever the timers do.
 *
 * Within that bound calls are spread out, W / n ms apart, each slot scheduled from the previous one so that timer
 * lateness does not pile up while callers wait (a burst of n at one instant would reach the provider as a burst, where
 * jitter could reorder it across the edge of its second). An idle gate grants the next call at once; it banks no
 * unused slots. Callers are served in order, one decision at a time. A rate below 1 lets one call through per
 * `1000 / rate + RATE_MARGIN_MS` ms.
 */
export function rateGate(perSecond: number | undefined, now: () => number = Date.now, sleep: (ms: number) => Promise<void> = realSleep): RateGate {
  let hooked = false;
  let take: () => Promise<void>;
  if (!perSecond || perSecond <= 0 || !Number.isFinite(perSecond)) take = () => RESOLVED;
  else {
    const n = Math.max(1, Math.floor(perSecond));
    const window = perSecond >= 1 ? 1000 + RATE_MARGIN_MS : 1000 / perSecond + RATE_MARGIN_MS;
    const interval = window / n;
    // When the last n calls actually left (a ring: `left[head]` is the call n places back), and the last slot.
    const left = new Float64Array(n).fill(-Infinity);
    let head = 0;
    let slot = -Infinity;
    let tail: Promise<void> = RESOLVED;
    const pass = async () => {
      for (;;) {
        const t = now();
        const at = Math.max(slot + interval, left[head]! + window);
        if (t >= at) {
          // Late by more than a slot (an idle gate, or a stall): start again from now rather than burst to catch up.
          slot = t - at > interval ? t : at;
          left[head] = t;
          head = (head + 1) % n;
          return;
        }
        await sleep(at - t);
      }
    };
    take = () => (tail = tail.then(pass));
  }
  return {
    acquire: () => {
      hooked = true;
      return take();
    },
    take,
    get hooked() {
      return hooked;
    },
  };
}
