/**
 * The TTY view of a dispatch run, drawn live from the runner's events: a bar per channel (sent and failed of the
 * total), all channels together with the send rate, retries by code, channels stopped for the run, sends
 * reconciled after a crash and, once the run's summary is in, failures by code. Off a TTY the CLI prints plain
 * log lines instead. Provider messages are shown with phone numbers masked and the channel secrets redacted.
 */
import { Box } from "ink";
import type { DispatchEvent, DispatchSummary } from "../../dispatch/runner.js";
import { maskPhonesIn } from "../mask.js";
import { padEnd } from "../style.js";
import { finishDispatch, handled, initialDispatchState, reduceDispatch, sendRate, type DispatchViewState } from "./dispatch-state.js";
import { mountLive, type LiveOptions } from "./live.js";
import { Line, barSegs, type Seg } from "./parts.js";

const n = (x: number) => x.toLocaleString("en-US");
const BAR = 30;

/** Masks phone numbers and replaces every secret value (4+ characters) by `***`. */
export function cleanText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join("***");
  return maskPhonesIn(out);
}

export function formatRate(perSec: number | undefined): string {
  if (perSec === undefined) return "– sends/s";
  return `${perSec < 10 ? perSec.toFixed(1) : n(Math.round(perSec))} sends/s`;
}

/** The view's lines as styled segments (what DispatchView draws; the tests read them too). */
export function dispatchLines(s: DispatchViewState, opts: { title?: string; secrets?: readonly string[] } = {}): Seg[][] {
  const clean = (t: string) => cleanText(t, opts.secrets);
  const lines: Seg[][] = [];
  lines.push([{ text: opts.title ?? "chuda dispatch", tone: "bold" }]);
  if (s.reconciled)
    lines.push([
      { text: `reconciled sends left in flight: ${n(s.reconciled.resolved)} resolved, ` },
      { text: `${n(s.reconciled.unknown)} unknown`, tone: s.reconciled.unknown ? "yellow" : "plain" },
    ]);
  if (s.planned) lines.push([{ text: `planned ${n(s.planned.sends)} sends in ${n(s.planned.occurrences)} occurrences (${n(s.planned.heldOut)} held out)` }]);
  else lines.push([{ text: "planning…", tone: "dim" }]);

  const done = handled(s);
  const total = Math.max(s.planned?.sends ?? 0, ...Object.values(s.channels).map((c) => c.total));
  const names = Object.keys(s.channels).sort();
  for (const name of names) {
    const c = s.channels[name]!;
    const tone = c.stopped ? "red" : "green";
    // With the channel's own plan known the bar is its progress; otherwise its share of the run's sends,
    // so that the channel bars add up to the bar of all channels.
    const bar = c.planned !== undefined ? barSegs(c.sent + c.failed, c.planned, BAR, { tone }) : barSegs(c.sent + c.failed, total, BAR, { tone, pct: false });
    const segs: Seg[] = [{ text: "  " + padEnd(name, 20) + " " }, ...bar];
    segs.push({ text: `  sent ${n(c.sent)}`, tone: "green" });
    if (c.failed) segs.push({ text: `  failed ${n(c.failed)}`, tone: "red" });
    if (c.planned !== undefined) segs.push({ text: ` of ${n(c.planned)}`, tone: "dim" });
    segs.push({ text: `  ${formatRate(sendRate(s, name))}`, tone: "dim" });
    if (c.retries) segs.push({ text: `  retries ${n(c.retries)}`, tone: "yellow" });
    if (c.stopped) segs.push({ text: `  stopped: ${clean(c.stopped.code)}`, tone: "red" });
    lines.push(segs);
  }
  lines.push([
    { text: "  " + padEnd("all channels", 20) + " " },
    ...barSegs(done, total, BAR),
    { text: `  ${n(done)} of ${n(total)}` },
    { text: `  ${formatRate(sendRate(s))}`, tone: "cyan" },
  ]);

  const retries = Object.entries(s.retriesByCode).sort((a, b) => b[1] - a[1]);
  if (s.retries)
    lines.push([
      { text: `retries ${n(s.retries)}`, tone: "yellow" },
      ...(retries.length ? [{ text: ": " + retries.map(([k, v]) => `${clean(k)} ×${n(v)}`).join(", ") }] : []),
    ]);
  const failures = Object.entries(s.failures).sort((a, b) => b[1] - a[1]);
  if (failures.length) {
    lines.push([{ text: "failures by code", tone: "bold" }]);
    const w = Math.max(...failures.map(([k]) => clean(k).length));
    for (const [k, v] of failures) lines.push([{ text: "  " + padEnd(clean(k), w) + "  " }, { text: n(v), tone: "red" }]);
  }
  for (const x of s.stops)
    lines.push([{ text: `channel ${x.channel} stopped for this run${x.reason ? ` (${x.reason})` : ""}: ${clean(x.code)} ${clean(x.message)}`, tone: "red" }]);
  if (s.summary) {
    const u = s.summary;
    lines.push([
      {
        text: `done: sent ${n(u.sent)}, queued ${n(u.queued)}, failed ${n(u.failed)}, unknown ${n(u.unknown)}, pending ${n(u.pending)}`,
        tone: u.failed || u.unknown || u.stopped.length ? "yellow" : "green",
      },
    ]);
  }
  return lines;
}

export function DispatchView({ state, color, title, secrets }: { state: DispatchViewState; color: boolean; title?: string; secrets?: readonly string[] }) {
  return (
    <Box flexDirection="column">
      {dispatchLines(state, { title, secrets }).map((l, i) => (
        <Line key={i} segs={l} color={color} />
      ))}
    </Box>
  );
}

export interface DispatchViewHandle {
  event(e: DispatchEvent): void;
  /** The last frame: the run's summary (exact counts, failures by code) when it finished. Safe to call twice. */
  finish(summary?: DispatchSummary): void;
}

export interface DispatchViewOptions extends LiveOptions {
  color: boolean;
  title?: string;
  /** Values never to show (the channels' secrets). */
  secrets?: readonly string[];
  /** The clock for the send rate. Default Date.now. */
  now?: () => number;
}

export function startDispatchView(opts: DispatchViewOptions): DispatchViewHandle {
  const now = opts.now ?? Date.now;
  const state = initialDispatchState(now());
  const live = mountLive(opts);
  const view = () => <DispatchView state={state} color={opts.color} title={opts.title} secrets={opts.secrets} />;
  live.show(view);
  let finished = false;
  return {
    event(e) {
      if (finished) return;
      reduceDispatch(state, e, now());
      live.show(view);
    },
    finish(summary) {
      if (finished) return;
      finished = true;
      if (summary) finishDispatch(state, summary, now());
      else state.now = now();
      live.finish(view);
    },
  };
}
