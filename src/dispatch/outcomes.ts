/**
 * Outcome handling: what each provider answer of a batch does to its send — sent or queued; a transient failure
 * retried with backoff (or left for the next run past the retry budget); a provider's "slow down" honoured, within
 * caps; an account-level refusal that stops the channel; a recipient's permanent failure with fallback to the next
 * channel; no answer (`unknown`, never re-sent). It keeps the run's counts and the per-send tries and deferrals.
 */
import { createHash } from "node:crypto";
import type { ResolvedCampaign } from "../resolved/types.js";
import type { Template } from "../content/types.js";
import type { SendOutcome } from "../drivers/types.js";
import type { DueSend, Ledger, SendInsert, SendResult, SendState } from "../ledger/types.js";
import type { Project } from "../project/types.js";
import { NEXT_RUN_MS } from "./ledger.js";
import { nextFallback } from "./requests.js";
import type { DispatchEvent, DispatchSummary } from "./runner.js";
import { expireAfterMs } from "./send-time.js";

/** A provider's "slow down" is honoured for at least this long (a `Retry-After: 0` must not make a busy loop). */
export const MIN_DEFER_MS = 1000;
/** Deferrals of one send within a run; past it the send waits for the next run. */
export const MAX_DEFERS_PER_SEND = 5;
/** Deferrals within a run; past it the channel that deferred stops for this run and its sends wait for the next. */
export const MAX_DEFERS_PER_RUN = 1000;

/** The backoff of a send's `tries`-th transient failure in a run: 1 s, 2 s, 4 s … (cap 30 s), less a jitter of up
 * to half, drawn from the send's key so that the same run gives the same ledger. */
export function backoffMs(key: string, tries: number): number {
  const jitter = createHash("sha256").update(`${key}|${tries}`).digest().readUInt32BE(0) / 2 ** 32;
  return Math.round(Math.min(30_000, 1000 * 2 ** (tries - 1)) * (0.5 + jitter * 0.5));
}

export const expiredMessage = (ms: number) => `expired: not sent within ${formatSpan(ms)} of its planned time`;
const formatSpan = (ms: number) => (ms % 3_600_000 === 0 ? `${ms / 3_600_000} hours` : `${Math.round(ms / 60_000)} minutes`);

/** Why a channel stopped, in words: refused or missing credentials are not a transient failure. */
export function stopReason(code: string): string {
  if (
    /^(missing_credentials|missing_secret|no_credentials|40001|40013|40125|40164|40243|41004|InvalidAccessKeyId|SignatureDoesNotMatch|AuthFailure|UnauthorizedOperation\.SmsSdkAppIdVerifyFail)/.test(
      code,
    )
  ) {
    return code.startsWith("missing") || code === "no_credentials" ? "credentials missing" : "credentials refused";
  }
  if (/AMOUNT_NOT_ENOUGH|InsufficientBalance|Arrears/i.test(code)) return "balance exhausted";
  if (/DAY_LIMIT|MONTH_LIMIT|DailyLimit/.test(code)) return "the provider's daily or monthly limit is reached";
  return "the provider refused the account";
}

/** What outcome handling needs of the run. */
export interface OutcomeContext {
  project: Project;
  ledger: Ledger;
  templates: Map<string, Template>;
  campaignsByName: Map<string, ResolvedCampaign>;
  runId: number;
  /** Tries of a send within the run before it waits for the next run. */
  maxAttempts: number;
  summary: DispatchSummary;
  /** The wall clock (a provider's `notBefore` is on it). */
  wall: () => number;
  stopChannel: (channel: string, code: string, message: string, reason: string) => void;
  isStopped: (channel: string) => boolean;
  onEvent?: (e: DispatchEvent) => void;
}

type Failure = Extract<SendOutcome, { status: "failed" }>;

export class OutcomeHandler {
  private readonly triesThisRun = new Map<string, number>();
  private readonly defersThisRun = new Map<string, number>();
  private defers = 0;

  constructor(private readonly run: OutcomeContext) {}

  /**
   * The results of one batch's outcomes (`outcomes[i]` answers `rows[i]`; a missing one is no answer) at the run's
   * moment `t`, and the fallback sends they open. The summary is counted as it goes.
   */
  async batch(channel: string, rows: DueSend[], outcomes: (SendOutcome | undefined)[], t: number): Promise<{ results: SendResult[]; fallbacks: SendInsert[] }> {
    const results: SendResult[] = [];
    const fallbacks: SendInsert[] = [];
    const { summary } = this.run;
    const c = (summary.by_channel[channel] ??= { sent: 0, queued: 0, failed: 0, unknown: 0 });
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const o: SendOutcome = outcomes[i] ?? { status: "failed", class: "ambiguous", code: "no_outcome", message: "driver returned no outcome" };
      if (o.status === "sent" || o.status === "queued") {
        results.push({ id: row.id, key: row.key, state: o.status, provider_id: o.providerId ?? null });
        summary[o.status]++;
        c[o.status]++;
        continue;
      }
      switch (o.class) {
        case "retry":
        case "refresh":
          results.push(this.retry(channel, row, o, t));
          break;
        case "defer":
          results.push(this.defer(channel, row, o, t));
          break;
        case "stop":
          // Account-level: nothing in this batch went out. Leave it pending and stop the channel for this run.
          results.push({ id: row.id, key: row.key, state: "planned", error_code: o.code, error_message: o.message, not_before: null });
          this.run.stopChannel(channel, o.code, o.message, stopReason(o.code));
          break;
        case "recipient": {
          results.push(this.fail(channel, row, o, "failed"));
          const full = await this.run.ledger.row(row.id);
          const next =
            full &&
            (await nextFallback(full, this.run.campaignsByName.get(row.campaign), this.run.templates, this.run.project, t, this.run.runId, this.run.ledger));
          if (next) {
            fallbacks.push(next);
            summary.fallbacks++;
          }
          break;
        }
        case "request":
          results.push(this.fail(channel, row, o, "failed"));
          break;
        case "ambiguous":
        default:
          results.push(this.fail(channel, row, o, "unknown"));
      }
    }
    return { results, fallbacks };
  }

  /**
   * A transient failure never loses the send: after `maxAttempts` tries in this run it stays pending for the next
   * run (an outage outlasting a run is not a reason to drop anyone).
   */
  private retry(channel: string, row: DueSend, o: Failure, t: number): SendResult {
    const { summary, maxAttempts } = this.run;
    const tries = (this.triesThisRun.get(row.key) ?? 0) + 1;
    this.triesThisRun.set(row.key, tries);
    summary.retries++;
    this.run.onEvent?.({ type: "retry", channel, code: o.code, count: summary.retries });
    const backoff = tries >= maxAttempts ? NEXT_RUN_MS : backoffMs(row.key, tries);
    // With a failover channel, an outage that outlasts the retry budget stops this one for the run.
    if (tries >= maxAttempts && this.run.project.channels.get(channel)?.failover)
      this.run.stopChannel(channel, o.code, o.message, "an outage past the retry budget");
    return this.retryAt(row, t + backoff, o);
  }

  /**
   * The provider's moment is on the wall clock: its distance from now, in whole seconds, moves the run's clock.
   * Honoured for at least MIN_DEFER_MS; capped per send and per run, after which the send waits for the next run (a
   * provider that keeps answering "slow down" must not keep the run, and the lock, for ever).
   */
  private defer(channel: string, row: DueSend, o: Failure, t: number): SendResult {
    const mine = (this.defersThisRun.get(row.key) ?? 0) + 1;
    this.defersThisRun.set(row.key, mine);
    this.defers++;
    const wait = o.notBefore === undefined ? 60_000 : Math.ceil(Math.max(0, o.notBefore - this.run.wall()) / 1000) * 1000;
    const result = this.retryAt(row, t + (mine > MAX_DEFERS_PER_SEND || this.defers > MAX_DEFERS_PER_RUN ? NEXT_RUN_MS : Math.max(MIN_DEFER_MS, wait)), o);
    if (this.defers > MAX_DEFERS_PER_RUN && !this.run.isStopped(channel)) {
      const message = `the provider asked to slow down ${this.defers} times in this run (${o.code}); the rest waits for the next run`;
      this.run.stopChannel(channel, "deferred_too_often", message, "the provider kept asking to slow down");
    }
    return result;
  }

  /** A retry that could not leave before the send expires is expired instead. */
  private retryAt(r: DueSend, notBefore: number, o: Failure): SendResult {
    const after = expireAfterMs(this.run.project, this.run.campaignsByName.get(r.campaign));
    if (notBefore < r.send_at + after) return { id: r.id, key: r.key, state: "planned", error_code: o.code, error_message: o.message, not_before: notBefore };
    this.run.summary.expired++;
    return {
      id: r.id,
      key: r.key,
      state: "expired",
      error_code: "expired",
      error_message: `${expiredMessage(after)}; last: ${o.code} ${o.message}`.slice(0, 500),
    };
  }

  private fail(channel: string, row: DueSend, o: Failure, state: SendState & ("failed" | "unknown")): SendResult {
    const { summary } = this.run;
    const c = summary.by_channel[channel]!;
    if (state === "failed") {
      summary.failed++;
      c.failed++;
      summary.failures[`${channel} ${o.code}`] = (summary.failures[`${channel} ${o.code}`] ?? 0) + 1;
    } else {
      summary.unknown++;
      c.unknown++;
    }
    return { id: row.id, key: row.key, state, error_code: o.code, error_message: o.message };
  }
}
