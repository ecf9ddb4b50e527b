/** Plain-text views of dispatch: the dry run's list, a run's summary, and `chuda status`. */
import type { DispatchSummary, DrySend } from "../dispatch/runner.js";
import { contentRefused } from "../dispatch/plan-rows.js";
import type { Project } from "../project/types.js";
import { formatLocalTime } from "../calendar/time.js";
import { maskPhone, maskPhonesIn } from "./mask.js";
import { makeStyle, table } from "./style.js";

const n = (x: number) => x.toLocaleString("en-US");

export function renderDispatchDryRun(
  dry: { sends: DrySend[]; waiting: number; expiring: number },
  missed: DispatchSummary["missed"],
  project: Project,
  opts: { color: boolean; at?: number },
): string {
  const st = makeStyle(opts.color);
  const sends = dry.sends;
  const earlier = sends.filter((d) => d.earlier).length;
  const out: string[] = [st.bold(`Dry run: ${n(sends.length)} sends would go out (nothing sent, nothing written)`)];
  if (opts.at !== undefined) out.push(`at ${formatLocalTime(opts.at, project.timezone)}`);
  if (earlier) out.push(`${n(earlier)} of them pending since an earlier run`);
  out.push("");
  const byKey = new Map<string, number>();
  for (const d of sends)
    byKey.set(`${d.campaign}\u0000${d.occurrence}\u0000${d.channel}`, (byKey.get(`${d.campaign}\u0000${d.occurrence}\u0000${d.channel}`) ?? 0) + 1);
  out.push(
    table(
      ["campaign", "occurrence", "channel", "sends"],
      [...byKey].map(([k, v]) => [...k.split("\u0000"), n(v)]),
      { right: [3], style: st },
    ),
  );
  const phone = new Set([...project.channels.values()].filter((c) => project.members.fields.get(c.address)?.kind === "phone").map((c) => c.name));
  const sample = sends.slice(0, 20);
  if (sample.length) {
    out.push(st.bold(`First ${sample.length} sends`));
    out.push(
      table(
        ["campaign", "member", "channel", "address"],
        sample.map((d) => [d.campaign, maskPhonesIn(d.member), d.channel, phone.has(d.channel) ? maskPhone(d.address ?? "") : maskPhonesIn(d.address ?? "")]),
        { style: st },
      ),
    );
  }
  if (dry.waiting) out.push(st.yellow(`${n(dry.waiting)} due sends would wait (quiet hours, a send window, a backoff) for a later run`));
  if (dry.expiring) out.push(st.yellow(`${n(dry.expiring)} pending sends are past their expiry and would be marked expired, never sent`));
  if (missed.length)
    out.push(
      st.yellow(`${missed.length} occurrences were missed (older than the catch-up window) and will not be sent:`),
      ...missed.map((m) => `  ${m.campaign} ${m.occurrence}`),
      "",
    );
  return out.join("\n") + "\n";
}

/** `timezone`: the project's, for the run's moment (the JSON summary keeps it in UTC). */
export function renderDispatchSummary(s: DispatchSummary, opts: { color: boolean; timezone?: string }): string {
  const st = makeStyle(opts.color);
  const out: string[] = [];
  const at = opts.timezone && !Number.isNaN(Date.parse(s.at)) ? formatLocalTime(Date.parse(s.at), opts.timezone) : s.at;
  const again = s.replanned ? ` (${n(s.replanned)} planned again: ${n(s.replanned_sends)} new sends)` : "";
  out.push(st.bold(`Dispatch at ${at}`) + `: ${n(s.occurrences)} occurrences planned${again}, ${n(s.planned)} sends, ${n(s.held_out)} held out`);
  if (s.withdrawn)
    out.push(
      st.yellow(`${n(s.withdrawn)} pending sends withdrawn: their members are no longer eligible (left the snapshot, unsubscribed, excluded or unreachable)`),
    );
  out.push(
    `sent ${n(s.sent)}, queued ${n(s.queued)} (WeCom: waiting for staff to confirm), failed ${n(s.failed)}, unknown ${n(s.unknown)}, pending ${n(s.pending)}, expired ${n(s.expired)}, retries ${n(s.retries)}, fallbacks ${n(s.fallbacks)}\n`,
  );
  const ch = Object.entries(s.by_channel);
  if (ch.length)
    out.push(
      table(
        ["channel", "sent", "queued", "failed", "unknown"],
        ch.map(([c, v]) => [c, n(v.sent), n(v.queued), n(v.failed), n(v.unknown)]),
        { right: [1, 2, 3, 4], style: st },
      ),
    );
  const f = Object.entries(s.failures);
  if (f.length)
    out.push(
      st.bold("Failures by code"),
      table(
        ["channel code", "sends"],
        f.map(([k, v]) => [maskPhonesIn(k), n(v)]),
        { right: [1] },
      ),
    );
  for (const x of s.stopped) {
    const moved = x.failover ? `; ${n(x.failover.sends)} due sends went to ${x.failover.channel}` : "";
    out.push(st.red(`channel ${x.channel} stopped for this run (${x.reason}): ${x.code} ${maskPhonesIn(x.message)}${moved}`));
  }
  if (s.missed.length)
    out.push(
      st.yellow(`${s.missed.length} missed occurrences (older than policy.catch_up) were not sent:`),
      ...s.missed.map((m) => `  ${m.campaign} ${m.occurrence}`),
    );
  // Why sends wait: a stopped channel says its own reason (refused credentials are not a transient failure).
  const stops = s.stopped.map((x) => `${x.channel} stopped: ${x.reason}`).join("; ");
  const why = `${stops ? `${stops}; or ` : ""}the provider failed transiently, a quota was reached, or they wait for quiet hours or a send window`;
  if (s.pending) out.push(st.yellow(`${s.pending} sends are still pending (${why}); the next run retries them — nothing is dropped`));
  if (s.expired) out.push(st.yellow(`${s.expired} sends expired (not sent within their expiry after the planned time); they are never sent`));
  if (s.unknown)
    out.push(st.yellow(`${s.unknown} sends are unknown: they were in flight when a run stopped and are never re-sent automatically; see \`chuda status\``));
  if (s.reconciled) out.push(`${n(s.reconciled)} sends a stopped run left in flight were confirmed by the provider and recorded`);
  const elsewhere = s.in_flight_elsewhere;
  if (elsewhere.live) out.push(`${n(elsewhere.live)} sends are in flight with other workers still running; they finish and record them`);
  if (elsewhere.silent)
    out.push(
      st.yellow(
        `${n(elsewhere.silent)} sends are in flight with a run not heard from (killed, or it lost the ledger); the next run asks the provider about them once their lease ends — they are never sent blind; see \`chuda status\``,
      ),
    );
  const refused = contentRefused(s.failures);
  if (refused.length)
    out.push(
      st.yellow(
        `${refused.reduce((a, r) => a + r.sends, 0)} sends were refused before sending: their content breaks the channel's rules (${refused.map((r) => r.channel).join(", ")}); fix the template — \`chuda validate\` shows why`,
      ),
    );
  return out.join("\n") + "\n";
}
