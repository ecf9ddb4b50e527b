/**
 * Plan → the simulation's figures: funnel per campaign, per channel, per day, and the estimates
 * (delivered / opened / converted from channel rates and goal assumptions; cost from channel prices).
 * No side effects: simulate never reaches dispatch or drivers.
 */
import { roundYuan } from "../render/money.js";
import type { WecomTaskCount } from "./wecom-tasks.js";
import { epochToZoned } from "../calendar/time.js";
import type { Project } from "../project/types.js";
import type { ResolvedCampaign } from "../resolved/types.js";
import type { ContentProblemCount, Plan, SkipReason } from "../plan/types.js";

export interface CampaignSummary {
  name: string;
  title?: string;
  occurrences: number;
  audience: number;
  holdout: number;
  unreachable: number;
  capped: number;
  sends: number;
  deferred: number;
  by_channel: Record<string, number>;
  capped_by: Partial<Record<SkipReason, number>>;
  /** With `--at` on a repository that dispatched: members an earlier run planned already (outside `audience`). */
  planned_before?: number;
  estimated: { delivered: number; opened: number; converted: number; cost: number };
  problems: ContentProblemCount[];
}

export interface SimulationSummary {
  members: number;
  rejected: number;
  from: string;
  to: string;
  campaigns: CampaignSummary[];
  total: { sends: number; members_reached: number; by_channel: Record<string, number>; cost: number };
  /** Sends per project-local day and channel (for the daily table and the report's stacked chart). */
  days: { date: string; by_channel: Record<string, number>; sends: number; cost: number }[];
  /** WeCom tasks per staff member (campaigns with a wecom channel only). */
  wecom_tasks?: WecomTaskCount[];
  /** Members of the snapshot with an opt-out in force on some channel (left out there), when the ledger has any. */
  suppressed?: number;
  /** With `rates: observed`: the delivery rate used per channel, and whether it was observed or the configured one. */
  delivery_rates?: Record<string, DeliveryRateUsed>;
}

export interface DeliveryRateUsed {
  rate: number;
  source: "observed" | "configured";
  /** Sends with a final receipt in the window the observed rate comes from. */
  sample: number;
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
/** Keys in a stable order, so that the JSON does not depend on the order members were read. */
const sorted = <T>(o: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

export function summarize(
  plan: Plan,
  project: Project,
  snapshot: { members: number; rejected: number },
  campaigns: ResolvedCampaign[],
  deliveryRates?: Record<string, DeliveryRateUsed>,
): SimulationSummary {
  const byName = new Map<string, CampaignSummary & { rawDelivered: number; rawOpened: number; rawConverted: number; rawCost: number }>();
  const entry = (c: ResolvedCampaign) => ({
    name: c.name,
    ...(c.title ? { title: c.title } : {}),
    occurrences: 0,
    audience: 0,
    holdout: 0,
    unreachable: 0,
    capped: 0,
    sends: 0,
    deferred: 0,
    by_channel: {},
    capped_by: {},
    estimated: { delivered: 0, opened: 0, converted: 0, cost: 0 },
    problems: [],
    rawDelivered: 0,
    rawOpened: 0,
    rawConverted: 0,
    rawCost: 0,
  });
  for (const c of campaigns) byName.set(c.name, entry(c));
  const days = new Map<string, { date: string; by_channel: Record<string, number>; sends: number; cost: number }>();
  for (const po of plan.occurrences) {
    const c = po.campaign;
    let s = byName.get(c.name);
    if (!s) byName.set(c.name, (s = entry(c)));
    const f = po.funnel;
    s.occurrences++;
    s.audience += f.audience;
    s.holdout += f.holdout;
    s.unreachable += f.unreachable;
    s.capped += f.capped;
    s.sends += f.sends;
    s.deferred += f.deferred;
    if (f.plannedBefore !== undefined) s.planned_before = (s.planned_before ?? 0) + f.plannedBefore;
    s.rawCost += f.cost;
    for (const [k, v] of Object.entries(f.cappedBy)) s.capped_by[k as SkipReason] = (s.capped_by[k as SkipReason] ?? 0) + v;
    const date = epochToZoned(po.sendAt, project.timezone).date;
    let day = days.get(date);
    if (!day) days.set(date, (day = { date, by_channel: {}, sends: 0, cost: 0 }));
    day.sends += f.sends;
    day.cost += f.cost;
    for (const [ch, n] of Object.entries(f.byChannel)) {
      s.by_channel[ch] = (s.by_channel[ch] ?? 0) + n;
      day.by_channel[ch] = (day.by_channel[ch] ?? 0) + n;
      const rates = project.channels.get(ch)?.rates ?? {};
      const delivered = n * (deliveryRates?.[ch]?.rate ?? rates.delivered ?? 1);
      s.rawDelivered += delivered;
      s.rawOpened += n * (rates.opened ?? 0);
      s.rawConverted += delivered * (c.goal?.expect ?? 0);
    }
    for (const p of po.problems) {
      const e = s.problems.find((x) => x.channel === p.channel && x.rule === p.rule && x.field === p.field);
      if (e) e.members += p.members;
      else s.problems.push({ ...p });
    }
  }
  const rows = [...byName.values()].map(({ rawDelivered, rawOpened, rawConverted, rawCost, ...s }) => ({
    ...s,
    by_channel: sorted(s.by_channel),
    capped_by: sorted(s.capped_by),
    problems: s.problems.sort((a, b) => (a.channel + a.rule + a.field < b.channel + b.rule + b.field ? -1 : 1)),
    estimated: { delivered: round(rawDelivered, 1), opened: round(rawOpened, 1), converted: round(rawConverted, 1), cost: roundYuan(rawCost) },
  }));
  rows.sort((a, b) => (a.name < b.name ? -1 : 1));
  const total = { sends: 0, members_reached: plan.membersReached, by_channel: {} as Record<string, number>, cost: 0 };
  for (const c of rows) {
    total.sends += c.sends;
    total.cost += c.estimated.cost;
    for (const [ch, n] of Object.entries(c.by_channel)) total.by_channel[ch] = (total.by_channel[ch] ?? 0) + n;
  }
  total.cost = roundYuan(total.cost);
  total.by_channel = sorted(total.by_channel);
  return {
    members: snapshot.members,
    rejected: snapshot.rejected,
    from: plan.from,
    to: plan.to,
    campaigns: rows,
    total,
    days: [...days.values()].sort((a, b) => (a.date < b.date ? -1 : 1)).map((d) => ({ ...d, by_channel: sorted(d.by_channel), cost: roundYuan(d.cost) })),
    ...(plan.suppressed ? { suppressed: plan.suppressed } : {}),
    ...(deliveryRates ? { delivery_rates: sorted(deliveryRates) } : {}),
  };
}
