/**
 * The send loop of a run: every channel in parallel, each drained by a few workers that pull batches of due sends from
 * the ledger, keep the send-time rules (expiry, quiet hours, send windows), take the channel's rate gate, mark the
 * batch in flight, call the driver and hand its answers to outcome handling. A channel stopped for the run moves its
 * due sends to its `failover` channel. It plans nothing: the plan is recorded before the loop starts.
 */
import type { RenderedContent } from "../content/types.js";
import type { SendOutcome, SendRequest } from "../drivers/types.js";
import type { DuePosition, DueSend, SendInsert, SendResult } from "../ledger/types.js";
import { expiredMessage, OutcomeHandler, type OutcomeContext } from "./outcomes.js";
import { rateGate } from "./rate-gate.js";
import { makeBatches, nextFallback, toRequest } from "./requests.js";
import type { LoadedChannel } from "./runner.js";
import { allowedAt, expireAfterMs } from "./send-time.js";

/** A run's clock: send times, backoff, deferrals and expiry are read on it, never on the wall clock. */
export interface RunClock {
  now: () => number;
  /** Waits until the run's clock reads `t`. */
  sleepUntil: (t: number) => Promise<void>;
}

/** What the send loop needs of the run: what outcome handling needs, and the drivers, clocks, limits and cancellation. */
export interface SendLoopRun extends Omit<OutcomeContext, "stopChannel" | "isStopped"> {
  /** The channels whose drivers are loaded; due sends of any other channel stay pending. */
  channels: Map<string, LoadedChannel>;
  /** The run's moment T: sends planned to go out at or before it are due. */
  at: number;
  /** The run's clock; `wall` (the wall clock) also times in-flight marks and the rate gates the runner makes. */
  clock: RunClock;
  /** The rate gates' sleep. */
  sleep: (ms: number) => Promise<void>;
  /** Longest wait inside the run for a deferred or backed-off send (ms); longer waits are left to the next run. */
  maxWaitMs: number;
  /** True once the run is cancelled (SIGTERM, SIGINT): no new provider call leaves; calls in flight finish. */
  aborted: () => boolean;
}

/** Rounds of channels that fallbacks opened after the first pass (a fallback of a fallback …). */
const FALLBACK_ROUNDS = 3;

/** How long (run clock) a pass over a channel's due sends goes on from where its last read ended before it starts again from the first. */
const PASS_MS = 5_000;

/** Sends what is due, channel by channel in parallel, until nothing due remains (or only waits longer than `maxWaitMs`). */
export async function sendDue(run: SendLoopRun): Promise<void> {
  await new SendLoop(run).sendAll();
}

class SendLoop {
  private readonly stopped = new Set<string>();
  /** Per channel, the earliest moment a send this loop put back (a retry, a postponement) is due again. */
  private readonly putBack = new Map<string, number>();
  private readonly settle: OutcomeHandler;

  constructor(private readonly run: SendLoopRun) {
    this.settle = new OutcomeHandler({
      ...run,
      stopChannel: (channel, code, message, reason) => this.stopChannel(channel, code, message, reason),
      isStopped: (channel) => this.stopped.has(channel),
    });
  }

  async sendAll(): Promise<void> {
    const { ledger, at } = this.run;
    const channels = [...new Set(await ledger.dueChannels(at))];
    await Promise.all(channels.map((c) => this.sendChannel(c)));
    // Fallbacks may have opened channels that had nothing due at the start.
    for (let round = 0; round < FALLBACK_ROUNDS && !this.run.aborted(); round++) {
      const more = (await ledger.dueChannels(at)).filter((c) => !this.stopped.has(c) && this.run.channels.has(c));
      const ready: string[] = [];
      for (const c of more) if (await ledger.hasDue(c, at, this.run.clock.now())) ready.push(c);
      if (!ready.length) break;
      await Promise.all(ready.map((c) => this.sendChannel(c)));
    }
  }

  private stopChannel(channel: string, code: string, message: string, reason: string): void {
    if (this.stopped.has(channel)) return;
    this.stopped.add(channel);
    this.run.summary.stopped.push({ channel, code, message, reason });
    this.run.onEvent?.({ type: "stop", channel, code, message, reason });
  }

  private async sendChannel(channel: string): Promise<void> {
    await this.drain(channel);
    if (this.stopped.has(channel)) await this.failOver(channel);
  }

  /** A stopped channel's due sends move to its `failover` channel (same content kind), unless that one stopped too. */
  private async failOver(channel: string): Promise<void> {
    const { project, ledger, summary, campaignsByName, templates, runId } = this.run;
    const to = project.channels.get(channel)?.failover;
    const entry = summary.stopped.find((x) => x.channel === channel);
    if (!to || !entry || this.stopped.has(to) || !this.run.channels.has(to)) return;
    const t = this.run.clock.now();
    const results: SendResult[] = [];
    const inserts: SendInsert[] = [];
    for (const due of await ledger.due(channel, this.run.at, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) {
      const row = await ledger.row(due.id);
      if (!row) continue;
      const rest = row.fallbacks ? (JSON.parse(row.fallbacks) as string[]) : [];
      const via = { ...row, fallbacks: JSON.stringify([to, ...rest]) };
      const next = await nextFallback(via, campaignsByName.get(row.campaign), templates, project, t, runId, ledger);
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
  }

  /**
   * Sends a channel's due sends until none is left, the channel stops, the run is cancelled, or the next one waits
   * longer than `maxWaitMs`. Workers pull batches from one queue that is refilled from the ledger as soon as it runs
   * dry, so that no worker waits for the slowest batch of a round (that gap cost throughput and a share of a
   * configured rate).
   */
  private async drain(channel: string): Promise<void> {
    const { ledger, at, clock } = this.run;
    const loaded = this.run.channels.get(channel);
    if (!loaded) return;
    const { gate, paced, concurrency, batchSize } = this.pacing(channel, loaded);
    const done = () => this.stopped.has(channel) || this.run.aborted();
    // `held`: sends fetched and not finished yet, never fetched twice (a retried send must wait out its backoff).
    const held = new Set<number>();
    const parsed = new Map<string, RenderedContent>();
    let batches: DueSend[][] = [];
    let cursor = 0;
    // The first read is one round of batches, so that the first calls leave as soon as it is read; later reads are
    // four rounds.
    let reads = 0;
    // Where the last read ended: the next read starts after it (see `Ledger.due`). A pass over the due sends starts
    // again from the first when a read after that place finds nothing, once a send this loop put back (a retry, a
    // postponement) is due, and every few seconds, for sends others put back before it (a fallback, an expired lease).
    let after: DuePosition | undefined;
    let passStarted = 0;
    // Whether the last read was full (more may be due right after it): the queue is then topped up before it runs dry.
    let more = false;
    const fetchBatches = async (): Promise<boolean> => {
      let rows: DueSend[] = [];
      while (!rows.length) {
        const limit = batchSize * concurrency * (reads++ ? 4 : 1);
        const now = clock.now();
        if (after && (now >= (this.putBack.get(channel) ?? Infinity) || now - passStarted >= PASS_MS)) after = undefined;
        let due = after ? await ledger.due(channel, at, now, limit, after) : [];
        const fromStart = !due.length;
        if (fromStart) {
          passStarted = now;
          this.putBack.delete(channel);
          due = await ledger.due(channel, at, now, limit);
        }
        const last = due[due.length - 1];
        after = last && { send_at: last.send_at, id: last.id };
        more = due.length === limit;
        due = due.filter((r) => !held.has(r.id));
        // Nothing but sends in flight here: nothing to fetch until they are done.
        if (!due.length) return false;
        rows = await this.sendableNow(due);
      }
      for (const r of rows) held.add(r.id);
      // After what is still queued (a read ahead comes before the queue is empty).
      batches = batches.slice(cursor).concat(makeBatches(rows, batchSize, !!loaded.driver.batchSameContent));
      cursor = 0;
      if (parsed.size > 10_000) parsed.clear();
      return true;
    };
    // One refill at a time: workers that find the queue empty wait for the same fetch (two would fetch the same rows).
    let refilling: Promise<boolean> | undefined;
    const refill = () => (refilling ??= fetchBatches().finally(() => (refilling = undefined)));
    const worker = async () => {
      for (;;) {
        if (done()) return;
        while (cursor >= batches.length) if (!(await refill()) || done()) return;
        const batch = batches[cursor++]!;
        // Read ahead: the next sends are read while the last round of batches goes out, so that no worker waits for
        // them. (A read that fails fails again for the worker that next finds the queue empty.)
        if (more && batches.length - cursor < concurrency) refill().catch(() => undefined);
        try {
          if (!paced()) await gate.take();
          if (this.run.aborted()) return;
          await this.sendBatch(channel, loaded, batch, parsed);
        } finally {
          for (const r of batch) held.delete(r.id);
        }
      }
    };
    for (;;) {
      await Promise.all(Array.from({ length: concurrency }, worker));
      if (done()) return;
      if (await ledger.hasDue(channel, at, clock.now())) continue;
      const next = await ledger.nextNotBefore(at, channel);
      if (next === undefined || next - clock.now() > this.run.maxWaitMs) return;
      await clock.sleepUntil(next);
    }
  }

  /** How a channel is paced: its rate gate, whether the driver takes it itself, its workers and batch size. */
  private pacing(channel: string, loaded: LoadedChannel) {
    const cfg = this.run.project.channels.get(channel)!;
    // Rate: a driver created with the channel's gate as `acquire` paces each provider call (exact for drivers that
    // make one call per recipient or split a batch). Otherwise the runner takes one token per batch (exact only when
    // a batch is one call).
    const gate = loaded.gate ?? rateGate(cfg.rateLimit, this.run.wall, this.run.sleep);
    const declaredPaced = loaded.gate !== undefined && !!loaded.driver.paced;
    const paced = () => declaredPaced || (loaded.gate?.hooked ?? false);
    const concurrency = Math.max(1, cfg.concurrency ?? 4);
    // A driver that cannot settle an interrupted send (no `reconcile`) gets one request per batch: a crash then
    // leaves at most `concurrency` sends unknown, not a whole batch marked in flight that mostly never left.
    // A rate-limited per-recipient driver the runner paces per batch (its instance was created without the gate):
    // batches of one, so that one token is one provider call.
    const perBatchOnly = !!cfg.rateLimit && !paced() && !!loaded.driver.perRecipient;
    const batchSize = loaded.instance.reconcile && !perBatchOnly ? Math.max(1, loaded.driver.batchLimit) : 1;
    return { gate, paced, concurrency, batchSize };
  }

  /** A send of `channel` is planned again from `at` on: the channel's next read from then on starts from the first. */
  private notePutBack(channel: string, at: number): void {
    this.putBack.set(channel, Math.min(at, this.putBack.get(channel) ?? Infinity));
  }

  /**
   * Every attempt keeps the send-time rules, not only the first: of due sends, those past their expiry become
   * `expired`, those in quiet hours or outside their campaign's window wait for the next allowed moment (a retry, a
   * send left pending by an earlier run, an occurrence found late). Returns the rest.
   */
  private async sendableNow(due: DueSend[]): Promise<DueSend[]> {
    const { project, ledger, campaignsByName, summary } = this.run;
    const t = this.run.clock.now();
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
    for (const [at, ids] of waiting) {
      await ledger.postpone(ids, at);
      this.notePutBack(due[0]!.channel, at);
    }
    return ready;
  }

  private async sendBatch(channel: string, loaded: LoadedChannel, batch: DueSend[], parsed: Map<string, RenderedContent>): Promise<void> {
    const { ledger, summary } = this.run;
    // Durably in flight before the call leaves (group commit with the other workers' marks and results).
    const inflight = await ledger.markInFlightQueued(
      batch.map((r) => r.id),
      this.run.runId,
      this.run.wall(),
      batch.map((r) => r.attempts),
    );
    const rows = inflight.size === batch.length ? batch : batch.filter((r) => inflight.has(r.id));
    if (!rows.length) return;
    const outcomes = await answersOf(
      loaded,
      rows.map((r) => toRequest(r, parsed)),
    );
    const t = this.run.clock.now();
    const { results, fallbacks } = await this.settle.batch(channel, rows, outcomes, t);
    for (const r of results) if (r.state === "planned") this.notePutBack(channel, r.not_before ?? t);
    const c = (summary.by_channel[channel] ??= { sent: 0, queued: 0, failed: 0, unknown: 0 });
    // Committed with the next group commit; until then the rows stay in flight (never re-sent after a crash).
    await ledger.queueFinish(results, t, fallbacks);
    this.run.onEvent?.({ type: "progress", channel, sent: c.sent + c.queued, failed: c.failed, total: summary.planned, failures: summary.failures });
  }
}

/**
 * The driver's answer to each request of a batch: an ambiguous one (no answer, a driver that threw) is asked about
 * again through `reconcile` when the driver has it, and stays ambiguous when the provider cannot tell.
 */
async function answersOf(loaded: LoadedChannel, requests: SendRequest[]): Promise<SendOutcome[]> {
  let outcomes: SendOutcome[];
  try {
    outcomes = await loaded.instance.send(requests);
  } catch (e) {
    // A driver that throws is a bug or a transport surprise: treat like an answer we never got.
    outcomes = requests.map(() => ({ status: "failed", class: "ambiguous", code: "driver_error", message: (e as Error).message }));
  }
  const ambiguous: number[] = [];
  outcomes.forEach((o, i) => o.status === "failed" && o.class === "ambiguous" && ambiguous.push(i));
  if (!ambiguous.length) return outcomes;
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
  return outcomes;
}
