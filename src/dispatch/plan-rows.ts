/** The ledger rows of a plan: what a run records before any provider call. */
import type { RenderedContent } from "../content/types.js";
import type { SendInsert, SendResult } from "../ledger/types.js";
import type { Plan } from "../plan/types.js";
import type { Project } from "../project/types.js";
import { sendKey } from "./ledger.js";
import type { DispatchSummary } from "./runner.js";

/** What a plan's rows come to: the results of the sends refused for their content, and the planned sends per channel. */
export interface PlanRowCounts {
  refused: SendResult[];
  byChannel: Record<string, number>;
}

/**
 * Counts the plan's rows (see `sendRows`) into `summary`, without building them: held-out members, sends whose
 * content a provider would refuse (their results are returned, for the ledger once their rows are in), planned sends.
 * `replanned`: occurrences an earlier run planned (`${campaign}|${occurrence}`).
 */
export function countPlanRows(p: Plan, replanned: Set<string>, summary: DispatchSummary): PlanRowCounts {
  const refused: SendResult[] = [];
  const byChannel: Record<string, number> = {};
  // Whether a decision's occurrence was planned before, asked again only when the occurrence changes.
  let occ: Plan["decisions"][number] | undefined;
  let again = false;
  for (const d of p.decisions) {
    if (d.reason === "held_out") summary.held_out++;
    else if (d.channel && d.contentErrors) {
      refused.push({
        key: sendKey(d.campaign, d.occurrence, d.member, d.channel),
        state: "failed",
        error_code: CONTENT_REFUSED,
        error_message: d.contentErrors.join("; ").slice(0, 500),
      });
      summary.failed++;
      (summary.by_channel[d.channel] ??= { sent: 0, queued: 0, failed: 0, unknown: 0 }).failed++;
      const k = `${d.channel} ${CONTENT_REFUSED}`;
      summary.failures[k] = (summary.failures[k] ?? 0) + 1;
    } else if (d.channel) {
      summary.planned++;
      byChannel[d.channel] = (byChannel[d.channel] ?? 0) + 1;
      if (occ?.campaign !== d.campaign || occ.occurrence !== d.occurrence) {
        occ = d;
        again = replanned.has(`${d.campaign}|${d.occurrence}`);
      }
      if (again) summary.replanned_sends++;
    }
  }
  return { refused, byChannel };
}

/**
 * The plan's decisions as ledger rows at the run's moment `t`, one at a time, as a ledger takes them (a large plan's
 * rows are built while the database stores the ones before, and none is kept): held-out members (channel `-`), sends
 * whose content a provider would refuse (recorded failed, never sent), and planned sends (with what a fallback or
 * failover channel needs to render). Nothing else changes: it may be read again.
 */
export function* sendRows(p: Plan, project: Project, runId: number, t: number): Generator<SendInsert> {
  // The planner renders each distinct message once and shares the object: serialise each once.
  const json = new Map<object, string>();
  const contentJson = (c: RenderedContent | undefined) => {
    if (!c) return null;
    let j = json.get(c);
    if (j === undefined) json.set(c, (j = JSON.stringify(c)));
    return j;
  };
  /** A decision's row on `channel`: its message and where it goes, nothing a fallback needs. */
  const row = (d: Plan["decisions"][number], channel: string, state: SendInsert["state"]): SendInsert => ({
    key: sendKey(d.campaign, d.occurrence, d.member, channel),
    campaign: d.campaign,
    occurrence: d.occurrence,
    member: d.member,
    channel,
    state,
    send_at: d.sendAt,
    address: state === "held_out" ? null : (d.address ?? null),
    sender: state === "held_out" ? null : (d.sender ?? null),
    content: state === "held_out" ? null : contentJson(d.content),
    fallbacks: null,
    vars: null,
    run_id: runId,
    updated_at: t,
  });
  for (const d of p.decisions) {
    if (d.reason === "held_out") yield row(d, "-", "held_out");
    else if (d.channel && d.contentErrors) yield row(d, d.channel, "failed");
    else if (d.channel) {
      const r = row(d, d.channel, "planned");
      if (d.fallbacks?.length) r.fallbacks = JSON.stringify(d.fallbacks);
      // Vars serve only to render a fallback (or failover) channel's content.
      if ((d.fallbacks?.length || project.channels.get(d.channel)?.failover) && d.vars) r.vars = JSON.stringify(d.vars);
      yield r;
    }
  }
}

/** The failure code of a send whose content the channel would refuse: recorded failed, never sent. */
const CONTENT_REFUSED = "content_refused";

/** The sends of a run's summary refused for their content, per channel (`failures` counts them as `<channel> content_refused`). */
export function contentRefused(failures: Record<string, number>): { channel: string; sends: number }[] {
  return Object.entries(failures)
    .filter(([k]) => k.endsWith(` ${CONTENT_REFUSED}`))
    .map(([k, sends]) => ({ channel: k.slice(0, -CONTENT_REFUSED.length - 1), sends }));
}
