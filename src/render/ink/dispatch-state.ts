/**
 * What the TTY view of a dispatch run shows, folded from the runner's events (src/dispatch/runner.ts). Pure:
 * the clock comes in with each event, so the send rate is testable without waiting.
 */
import type { DispatchEvent, DispatchSummary } from "../../dispatch/runner.js";

export interface ChannelView {
  sent: number;
  failed: number;
  /** The `total` of the channel's last progress event (today the runner sends the run's total there). */
  total: number;
  /** Sends planned on this channel, when the `planned` event says (an optional `byChannel`): bars then show progress. */
  planned?: number;
  retries: number;
  stopped?: { code: string; message: string };
}

export interface DispatchViewState {
  /** When the view started (ms). */
  startedAt: number;
  /** When sending started: the `planned` event, else the first progress event (ms). */
  sendingSince?: number;
  now: number;
  planned?: { sends: number; heldOut: number; occurrences: number };
  channels: Record<string, ChannelView>;
  retries: number;
  /** Retries by `channel code`. */
  retriesByCode: Record<string, number>;
  /** Failures by `channel code`: known once the run's summary arrives. */
  failures: Record<string, number>;
  stops: { channel: string; code: string; message: string; reason?: string }[];
  reconciled?: { resolved: number; unknown: number };
  summary?: DispatchSummary;
}

export function initialDispatchState(now: number): DispatchViewState {
  return { startedAt: now, now, channels: {}, retries: 0, retriesByCode: {}, failures: {}, stops: [] };
}

const chan = (s: DispatchViewState, name: string): ChannelView => (s.channels[name] ??= { sent: 0, failed: 0, total: 0, retries: 0 });

/** Folds one event in place (the view redraws from a copy) and returns the state. */
export function reduceDispatch(s: DispatchViewState, e: DispatchEvent, now: number): DispatchViewState {
  s.now = now;
  switch (e.type) {
    case "planned": {
      s.planned = { sends: e.sends, heldOut: e.heldOut, occurrences: e.occurrences };
      s.sendingSince = now;
      // Sends planned per channel: the bars show true per-channel progress.
      for (const [name, count] of Object.entries(e.byChannel ?? {})) chan(s, name).planned = count;
      break;
    }
    case "progress": {
      s.sendingSince ??= now;
      const c = chan(s, e.channel);
      c.sent = e.sent;
      c.failed = e.failed;
      c.total = e.total;
      if (e.failures) s.failures = { ...e.failures };
      break;
    }
    case "retry": {
      // `count` is the run's retries so far, over all channels.
      s.retries = Math.max(s.retries + 1, e.count);
      chan(s, e.channel).retries++;
      const k = `${e.channel} ${e.code}`;
      s.retriesByCode[k] = (s.retriesByCode[k] ?? 0) + 1;
      break;
    }
    case "stop":
      chan(s, e.channel).stopped = { code: e.code, message: e.message };
      s.stops.push({ channel: e.channel, code: e.code, message: e.message, reason: e.reason });
      break;
    case "reconciled":
      s.reconciled = { resolved: e.resolved, unknown: e.unknown };
      break;
  }
  return s;
}

/** The run's summary: exact per-channel counts and the failures by code. */
export function finishDispatch(s: DispatchViewState, summary: DispatchSummary, now: number): DispatchViewState {
  s.now = now;
  s.summary = summary;
  s.failures = { ...summary.failures };
  s.retries = summary.retries;
  for (const [name, v] of Object.entries(summary.by_channel)) {
    const c = chan(s, name);
    c.sent = v.sent + v.queued;
    c.failed = v.failed;
    c.total = Math.max(c.total, c.sent + c.failed);
  }
  s.planned ??= { sends: summary.planned, heldOut: summary.held_out, occurrences: summary.occurrences };
  return s;
}

/** Sends and failures handled so far, over all channels. */
export const handled = (s: DispatchViewState) => Object.values(s.channels).reduce((a, c) => a + c.sent + c.failed, 0);

/** Sends handled per second since sending started (over all channels, or one); undefined before any time has passed. */
export function sendRate(s: DispatchViewState, channel?: string): number | undefined {
  if (s.sendingSince === undefined) return undefined;
  const secs = (s.now - s.sendingSince) / 1000;
  if (!(secs > 0)) return undefined;
  const c = channel === undefined ? undefined : s.channels[channel];
  return (channel === undefined ? handled(s) : c ? c.sent + c.failed : 0) / secs;
}
