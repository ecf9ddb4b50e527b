/**
 * Carries out a Plan through the drivers. It decides nothing about who gets what: the planner did
 * (src/plan). What it owns: the ledger protocol (planned → in_flight → sent | queued | failed | unknown),
 * retries with backoff, fallback to the next channel after a permanent recipient failure, rate limits,
 * reconciliation of sends left in flight by a crash.
 */
import type { ResolvedCampaign, IR } from "../resolved/types.js";
import type { Template, RenderedContent } from "../content/types.js";
import type { Driver, DriverInstance } from "../drivers/types.js";
import { emptyPlan, hasOccurrencesToPlan, plan } from "../plan/plan.js";
import { allowedAt, expireAfterMs } from "./send-time.js";
import { reconcileInFlight, reconcileQueued } from "./reconcile.js";
import { countPlanRows, sendRows, type PlanRowCounts } from "./plan-rows.js";
import { sendDue, type RunClock } from "./send-loop.js";
import type { RateGate } from "./rate-gate.js";

export { allowedAt, expireAfterMs } from "./send-time.js";
export { dedupeId } from "./requests.js";
export { RATE_MARGIN_MS, rateGate, type RateGate } from "./rate-gate.js";
import { dueWindow, missedOccurrences, occurrenceDays, type MissedOccurrence } from "../plan/window.js";
import { messageCost } from "../plan/content.js";
import type { BusinessEvent, MemberTable, Plan } from "../plan/types.js";
import { bindLinks, LINKS_KEY, type BoundLink } from "../content/track.js";
import type { Project } from "../project/types.js";
import { NEXT_RUN_MS, sendKey } from "./ledger.js";
import type { InFlightElsewhere, Ledger, SendInsert } from "../ledger/types.js";

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

/**
 * The member snapshot: a table, or how to read it once a plan needs it. A run with nothing to plan never reads it: a
 * worker of a shared ledger whose due occurrences another worker planned, a scheduled run with nothing due.
 */
export type MemberSource = MemberTable | (() => Promise<MemberTable>);

export interface DispatchInput {
  project: Project;
  campaigns: ResolvedCampaign[];
  exclude?: IR;
  templates: Map<string, Template>;
  members: MemberSource;
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
  /** Sends in flight a killed run left that the provider confirmed (sent or failed) at the start of this run. */
  reconciled: number;
  /** Sends still in flight with other runs when this one ended (other workers of a shared ledger). */
  in_flight_elsewhere: InFlightElsewhere;
}

/**
 * Plans what is due at T (the same planner as `simulate --at T`). An occurrence an earlier run planned is planned
 * again against this snapshot: the members that run planned are left as they are (see `Ledger.committed`).
 */
export async function planDue(
  input: Omit<DispatchInput, "channels" | "now" | "lock">,
  withMembers = true,
  skipOccurrences?: Set<string>,
): Promise<{ plan: Plan; missed: DispatchSummary["missed"] }> {
  const { project, ledger } = input;
  const due = dueWindow(project, input.at);
  const skip = await ledger.plannedOccurrences();
  const common = {
    project,
    campaigns: input.campaigns,
    exclude: input.exclude,
    templates: input.templates,
    ...occurrenceDays(due, project.timezone),
    due,
    ...(input.events ? { events: input.events } : {}),
    ...(skipOccurrences?.size ? { skipOccurrences } : {}),
  };
  const missed = () => missedOccurrences(input.campaigns, project, due, skip);
  // Nothing due (or only occurrences another worker planned): known from the calendar alone, without the snapshot
  // and the reads a plan needs (the whole history, the members planned before), which take as long as the plan itself.
  if (!hasOccurrencesToPlan(common)) return { plan: emptyPlan(common), missed: missed() };
  const members = await membersOf(input.members);
  const committed = await ledger.committed(due.fromMs, due.toMs);
  const result = await plan({
    ...common,
    members,
    committed,
    spent: await committedSpend(ledger, project, input.campaigns, committed),
    history: await ledger.history(),
    suppressed: (await ledger.suppressions?.()) ?? [],
    memberRows: withMembers,
  });
  // Occurrences that were due in the week before the catch-up window and never planned: reported, not sent.
  return { plan: result, missed: missed() };
}

/** The snapshot of a member source, read now if it was not. */
function membersOf(source: MemberSource): Promise<MemberTable> {
  return typeof source === "function" ? source() : Promise.resolve(source);
}

/**
 * A run's member source, read at most once; a snapshot read during the run is recorded as the run's (the size the
 * next run's shrink check compares with).
 */
function readOnce(source: MemberSource, ledger: Ledger, runId: number): MemberSource {
  if (typeof source !== "function") return source;
  let read: Promise<MemberTable> | undefined;
  return () =>
    (read ??= source().then(async (table) => {
      await ledger.recordRunMembers(runId, table.count);
      return table;
    }));
}

/** A run's clock: its moment T, advanced by the run's waits (pinned) or by the wall clock since the run began. */
export function runClock(at: number, wall: () => number, pinned: boolean, sleep: (ms: number) => Promise<void>): RunClock {
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

/** One run as its steps share it: its id in the ledger, its clocks, its counts, and whether it was cancelled. */
interface RunState {
  id: number;
  summary: DispatchSummary;
  clock: RunClock;
  wall: () => number;
  sleep: (ms: number) => Promise<void>;
  aborted: () => boolean;
}

/** Reconcile what earlier runs left, plan and record what is due, send it, and record how the run ended. */
export async function runDispatch(input: DispatchInput): Promise<DispatchSummary> {
  const run = await startRun(input);
  input = { ...input, members: readOnce(input.members, input.ledger, run.id) };
  const { ledger, project } = input;
  // 1. Sends a killed run left in flight: ask the provider, else mark unknown (never re-sent automatically). Only
  // under the lock: sends in flight of a run that is still alive must never be settled, let alone sent again.
  if (!input.lock.held()) throw new Error("the dispatch lock is not held: sends in flight are not reconciled");
  await reconcileInFlight(input, run.summary, run.id);
  // 1b. WeCom tasks waiting for a staff member: confirmed, refused, or past their expiry (then canceled).
  await reconcileQueued(input, run.summary, run.id, run.clock.now);
  if (run.aborted()) return endRun(ledger, run, "interrupted");

  // 2. Plan what is due and record it before any call.
  let planned: PlanRowCounts | undefined;
  try {
    planned = await recordDuePlan(input, run);
  } catch (e) {
    // A snapshot that cannot be read or used (--strict, shrunk), a plan that failed: the run ends `failed`, not left
    // `running` for the next run to find.
    await ledger.finishRun(run.id, run.wall(), "failed", run.summary).catch(() => undefined);
    throw e;
  }
  if (!planned) return endRun(ledger, run, "interrupted");
  input.onEvent?.(plannedEvent(run.summary, planned));
  // Pending sends past their expiry (planned by this run or an earlier one) are never sent.
  run.summary.expired += await ledger.expire(
    input.campaigns.map((c) => ({ campaign: c.name, afterMs: expireAfterMs(project, c) })),
    expireAfterMs(project, undefined),
    run.clock.now(),
  );

  // 3. Send, channel by channel in parallel, until nothing due remains (or only waits longer than maxWait).
  await sendDue({
    project,
    ledger,
    channels: input.channels,
    templates: input.templates,
    campaignsByName: new Map(input.campaigns.map((c) => [c.name, c])),
    at: input.at,
    runId: run.id,
    clock: run.clock,
    wall: run.wall,
    sleep: run.sleep,
    summary: run.summary,
    aborted: run.aborted,
    onEvent: input.onEvent,
    maxAttempts: input.maxAttempts ?? 3,
    maxWaitMs: input.maxWaitMs ?? 30_000,
  });

  // 4. How the run ended, with what is left pending.
  return endRun(ledger, run, run.aborted() ? "interrupted" : run.summary.stopped.length ? "stopped" : "done");
}

/** Records the run's start; runs a dead process left marked running become `interrupted`. */
async function startRun(input: DispatchInput): Promise<RunState> {
  const { ledger } = input;
  const wall = input.now;
  const sleep = input.sleep ?? ((ms) => timerSleep(ms, input.signal));
  // Send times, backoff, deferrals and expiry are read on the run's clock, never mixed with the wall clock.
  const clock = runClock(input.at, wall, input.pinned ?? false, sleep);
  const id = await ledger.startRun(input.at, wall(), typeof input.members === "function" ? null : input.members.count);
  // The caller holds the dispatch lock: a run still marked running is one whose process died (kill -9, power loss).
  await ledger.markDeadRunsInterrupted(id, wall());
  await ledger.releaseForNextRun();
  return { id, summary: emptySummary(input.at), clock, wall, sleep, aborted: () => input.signal?.aborted ?? false };
}

/** A summary with nothing counted yet (a run's start; tests). */
export function emptySummary(at: number): DispatchSummary {
  return {
    at: new Date(at).toISOString(),
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
    reconciled: 0,
    in_flight_elsewhere: { live: 0, silent: 0 },
    staff_tasks: { sent: 0, failed: 0, expired: 0, waiting: 0 },
  };
}

/**
 * Plans what is due and records it (withdrawing pending sends of members no longer eligible): what its rows come to,
 * or undefined when the run was cancelled while planning. Several workers on one shared ledger plan one at a time (see
 * `Ledger.lockPlanning`); the lock is released once the plan is recorded.
 */
async function recordDuePlan(input: DispatchInput, run: RunState): Promise<PlanRowCounts | undefined> {
  const { ledger, project } = input;
  const { summary } = run;
  const beforeLock = ledger.lockPlanning ? await ledger.plannedOccurrences() : undefined;
  const release = ledger.lockPlanning ? await ledger.lockPlanning() : undefined;
  try {
    const plannedBefore = await ledger.plannedOccurrences();
    // Occurrences another worker planned while this one waited for the lock (workers started together): that worker's
    // plan of the same moment, not planned again here (a later run plans them again against its own snapshot).
    const concurrent = beforeLock && new Set([...plannedBefore].filter((k) => !beforeLock.has(k)));
    const { plan: p, missed } = await planDue(input, true, concurrent);
    if (run.aborted()) return undefined;
    summary.missed = missed;
    const t = run.clock.now();
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
    const occurrences = p.occurrences.map((o) => ({ campaign: o.campaign.name, occurrence: o.occurrence.id, sendAt: o.sendAt, audience: o.funnel.audience }));
    const counts = countPlanRows(p, replanned, summary);
    let rows: Iterable<SendInsert>;
    if (hasTrackedLinks(p)) {
      // Links are bound to each send's key and stored before the plan that sends them.
      const built = [...sendRows(p, project, run.id, t)];
      await bindTrackedLinks(ledger, built);
      rows = built;
    } else {
      // Built as the ledger takes them (and again should it need them again), never all kept at once.
      rows = { [Symbol.iterator]: () => sendRows(p, project, run.id, t) };
    }
    const recorded = await ledger.recordPlan(occurrences, rows, run.id);
    // Held-out members of an occurrence planned again were recorded by the run that first planned it.
    summary.held_out = recorded.heldOut;
    if (counts.refused.length) await ledger.finish(counts.refused, t);
    summary.occurrences = p.occurrences.length;
    return counts;
  } finally {
    await release?.();
  }
}

function plannedEvent(summary: DispatchSummary, { byChannel }: PlanRowCounts): DispatchEvent {
  const { planned: sends, held_out: heldOut, occurrences, replanned, withdrawn } = summary;
  return { type: "planned", sends, heldOut, occurrences, byChannel, replanned, withdrawn };
}

/** Records how the run ended (`done`, `stopped`: a channel stopped, `interrupted`: cancelled) and what is left pending. */
async function endRun(ledger: Ledger, run: RunState, status: "done" | "stopped" | "interrupted"): Promise<DispatchSummary> {
  if (status === "interrupted") run.summary.interrupted = true;
  run.summary.pending = await ledger.plannedCount();
  run.summary.in_flight_elsewhere = await ledger.inFlightElsewhere(run.id);
  await ledger.finishRun(run.id, run.wall(), status, run.summary);
  return run.summary;
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
    members: await membersOf(input.members),
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

/** Whether any message of the plan has tracked links (to bind to each send before it is recorded). */
function hasTrackedLinks(p: Plan): boolean {
  let last: object | undefined;
  for (const d of p.decisions) {
    if (!d.content || d.content === last) continue;
    last = d.content;
    if (LINKS_KEY in d.content) return true;
  }
  return false;
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
