/**
 * The `--json` outputs of `chuda dispatch`: the documented contract (snake_case, like `simulate --json` and
 * `status --json`), built field by field from the runner's internal results so that renaming or adding an
 * internal field never changes what scripts read. Phones are masked.
 */
import type { DispatchSummary, DrySend } from "../dispatch/runner.js";
import { maskDeep } from "./mask.js";

/** A run's summary, as `chuda dispatch --json` prints it. */
export interface DispatchSummaryJson {
  at: string;
  occurrences: number;
  planned: number;
  held_out: number;
  sent: number;
  queued: number;
  failed: number;
  unknown: number;
  pending: number;
  expired: number;
  retries: number;
  fallbacks: number;
  missed: { campaign: string; occurrence: string; send_at: string }[];
  replanned: number;
  replanned_sends: number;
  withdrawn: number;
  by_channel: Record<string, { sent: number; queued: number; failed: number; unknown: number }>;
  failures: Record<string, number>;
  stopped: { channel: string; code: string; message: string; reason: string; failover?: { channel: string; sends: number } }[];
  staff_tasks?: { sent: number; failed: number; expired: number; waiting: number };
  interrupted?: boolean;
  /** Sends a killed run left in flight that the provider confirmed at the start of this run. */
  reconciled: number;
  /** Sends in flight with other runs when this one ended: `live` workers finish theirs; `silent` ones wait for the next run. */
  in_flight_elsewhere: { live: number; silent: number };
}

export function dispatchSummaryJson(s: DispatchSummary): DispatchSummaryJson {
  const out: DispatchSummaryJson = {
    at: s.at,
    occurrences: s.occurrences,
    planned: s.planned,
    held_out: s.held_out,
    sent: s.sent,
    queued: s.queued,
    failed: s.failed,
    unknown: s.unknown,
    pending: s.pending,
    expired: s.expired,
    retries: s.retries,
    fallbacks: s.fallbacks,
    missed: s.missed.map((m) => ({ campaign: m.campaign, occurrence: m.occurrence, send_at: m.send_at })),
    replanned: s.replanned,
    replanned_sends: s.replanned_sends,
    withdrawn: s.withdrawn,
    by_channel: Object.fromEntries(
      Object.entries(s.by_channel).map(([ch, c]) => [ch, { sent: c.sent, queued: c.queued, failed: c.failed, unknown: c.unknown }]),
    ),
    failures: { ...s.failures },
    stopped: s.stopped.map((x) => ({
      channel: x.channel,
      code: x.code,
      message: x.message,
      reason: x.reason,
      ...(x.failover ? { failover: { channel: x.failover.channel, sends: x.failover.sends } } : {}),
    })),
    reconciled: s.reconciled,
    in_flight_elsewhere: { live: s.in_flight_elsewhere.live, silent: s.in_flight_elsewhere.silent },
  };
  if (s.staff_tasks) out.staff_tasks = { ...s.staff_tasks };
  if (s.interrupted) out.interrupted = true;
  return maskDeep(out);
}

/** What `chuda dispatch --dry-run --json` prints. */
export interface DispatchDryRunJson {
  dry_run: true;
  at: string;
  sends: { campaign: string; occurrence: string; member: string; channel: string; pending_since_earlier_run?: true }[];
  pending_from_earlier_runs: number;
  waiting: number;
  expiring: number;
  withdrawing: number;
  missed: DispatchSummaryJson["missed"];
}

export function dispatchDryRunJson(
  at: number,
  dry: { sends: DrySend[]; waiting: number; expiring: number; withdrawing: number },
  missed: DispatchSummary["missed"],
): DispatchDryRunJson {
  return maskDeep({
    dry_run: true,
    at: new Date(at).toISOString(),
    sends: dry.sends.map((d) => ({
      campaign: d.campaign,
      occurrence: d.occurrence,
      member: d.member,
      channel: d.channel,
      ...(d.earlier ? { pending_since_earlier_run: true as const } : {}),
    })),
    pending_from_earlier_runs: dry.sends.filter((d) => d.earlier).length,
    waiting: dry.waiting,
    expiring: dry.expiring,
    withdrawing: dry.withdrawing,
    missed: missed.map((m) => ({ campaign: m.campaign, occurrence: m.occurrence, send_at: m.send_at })),
  });
}
