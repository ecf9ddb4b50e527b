/**
 * The continuous side of event-triggered campaigns in `chuda serve`: events committed by `POST /events` are planned
 * and sent by the dispatch run itself (src/dispatch/runner.ts `runDispatch`), restricted to the campaigns triggered
 * by events — the same planner, caps, quiet hours, holdout, expiry and ledger as `chuda dispatch`, so nothing here
 * decides who gets what.
 *
 * A cycle: read the events stored since the last cycle, keep those whose occurrences are not planned yet, take the
 * dispatch lock (a cycle waits while a `chuda dispatch` runs), and run the dispatch at now with those events. An
 * occurrence is planned when its moment (the event's time plus the trigger's offset, after quiet hours and the send
 * window) is due; until then its event stays pending, in memory and in the ledger (a restart reads it again).
 * Send keys carry the event's identity (occurrence `event:<ident>`), so no event is ever sent twice.
 *
 * Cycles run one at a time: `wake()` (called when events arrive) starts one at once if none runs, or one right
 * after the running one; otherwise a cycle runs every `intervalMs` (sends deferred to the morning, retries).
 */
import type { IR, ResolvedCampaign } from "../resolved/types.js";
import type { Template } from "../content/types.js";
import type { Ledger, StoredEvent } from "../dispatch/ledger.js";
import { acquireLock } from "../dispatch/lock.js";
import { runDispatch, type DispatchSummary, type LoadedChannel } from "../dispatch/runner.js";
import { addDuration, eventOccurrenceId } from "../plan/plan.js";
import type { BusinessEvent, MemberTable } from "../plan/types.js";
import type { Project } from "../project/types.js";

export interface EventLoopInput {
  project: Project;
  root: string;
  /** Every resolved campaign of the repository; the loop keeps those triggered by events. */
  campaigns: ResolvedCampaign[];
  exclude?: IR;
  templates: Map<string, Template>;
  members: MemberTable;
  channels: Map<string, LoadedChannel>;
  /** A ledger of the loop's own: its scope is restricted to the event campaigns. */
  ledger: Ledger;
  clock: () => number;
  /** Between cycles when no event arrives (sends deferred to the morning, retries). Default 1 s. */
  intervalMs?: number;
  onCycle?: (summary: DispatchSummary | undefined) => void;
  onError?: (e: unknown) => void;
}

/** How long an event may wait for its occurrence to be planned beyond its offset: catch-up plus a night of quiet hours. */
const WAIT_BEYOND_OFFSET_MS = 36 * 3_600_000;

export class EventLoop {
  private readonly campaigns: ResolvedCampaign[];
  /** Events whose occurrences are not all planned, by ledger id. */
  private readonly pending = new Map<number, StoredEvent>();
  private lastId = 0;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly horizonMs: number;
  /** The ledger's scope narrowed to the event campaigns (a promise: the ledger is asynchronous). */
  private readonly scoped: Promise<void>;

  constructor(private readonly input: EventLoopInput) {
    this.campaigns = input.campaigns.filter((c) => c.trigger.kind === "business_event");
    this.scoped = input.ledger.restrictTo(this.campaigns.map((c) => c.name));
    const offsets = this.campaigns.map((c) => (c.trigger.kind === "business_event" && c.trigger.offset ? addDuration(0, c.trigger.offset, "UTC") : 0));
    this.horizonMs = Math.max(0, ...offsets) + input.project.policy.catchUpMs + WAIT_BEYOND_OFFSET_MS;
  }

  /** The campaigns this loop sends. */
  get eventCampaigns(): readonly ResolvedCampaign[] {
    return this.campaigns;
  }

  start(): void {
    if (!this.campaigns.length) return;
    const every = this.input.intervalMs ?? 1000;
    const tick = () => {
      if (this.stopped) return;
      this.wake();
      this.timer = setTimeout(tick, every);
    };
    tick();
  }

  /** Runs a cycle now, or right after the one running. */
  wake(): void {
    if (this.stopped || !this.campaigns.length) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.cycle()
      .catch((e: unknown) => this.input.onError?.(e))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Stops: no new cycle; a running one stops sending (calls in flight finish and are recorded). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    await this.running;
  }

  /** Resolves when no cycle runs and none is asked for (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async cycle(): Promise<void> {
    const { ledger, project } = this.input;
    await this.scoped;
    const now = this.input.clock();
    for (const e of await ledger.eventsAfter(this.lastId, now - this.horizonMs)) {
      this.pending.set(e.id, e);
      this.lastId = Math.max(this.lastId, e.id);
    }
    // Keep the events some campaign triggered by their name has not planned yet, and not too old to be.
    const planned = await ledger.plannedOccurrences();
    const events: BusinessEvent[] = [];
    for (const [id, e] of this.pending) {
      const open = this.campaigns.some(
        (c) => c.trigger.kind === "business_event" && c.trigger.event === e.name && !planned.has(`${c.name}|${eventOccurrenceId(e.ident)}`),
      );
      if (!open || e.time < now - this.horizonMs) this.pending.delete(id);
      else events.push({ ident: e.ident, member: e.member, name: e.name, time: e.time, props: e.props });
    }
    if (!events.length && !(await ledger.dueChannels(now)).length) return;
    const lock = acquireLock(this.input.root, now);
    if (!lock.ok) return; // a `chuda dispatch` runs: the next cycle tries again
    try {
      const summary = await runDispatch({
        project,
        campaigns: this.campaigns,
        ...(this.input.exclude ? { exclude: this.input.exclude } : {}),
        templates: this.input.templates,
        members: this.input.members,
        at: now,
        events,
        ledger,
        channels: this.input.channels,
        now: this.input.clock,
        // Sends that must wait (a provider's slow-down, a retry) wait for a later cycle, not inside this one.
        maxWaitMs: 1000,
        signal: this.abort.signal,
        lock,
      });
      this.input.onCycle?.(summary);
    } finally {
      lock.release();
    }
  }
}
