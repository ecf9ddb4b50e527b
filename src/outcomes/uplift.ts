/**
 * Goal attainment and uplift against the holdout, per campaign and occurrence (the `chuda report` figures).
 *
 * Statistics (README.md in this folder):
 * - rates are converted members / members of the group;
 * - absolute uplift = treated rate − control rate, 95 % CI by Newcombe's hybrid score method (Newcombe 1998,
 *   method 10: Wilson score intervals of each rate, combined);
 * - relative uplift = treated rate / control rate − 1, 95 % CI by Katz's log method for the risk ratio;
 * - incremental conversions = absolute uplift × treated members (with the absolute CI scaled the same way);
 * - incremental revenue = (revenue per treated member − revenue per control member) × treated members;
 * - cost per incremental conversion = cost of the sends / incremental conversions (only when that is positive).
 */
import type { ResolvedCampaign, ResolvedGoal } from "../resolved/types.js";
import { epochToZoned } from "../calendar/time.js";
import { attribute, goalWindowEnd, type OutcomeSend } from "./attribution.js";
import type { Conversion } from "./conversions.js";

/** z for a two-sided 95 % interval. */
export const Z95 = 1.959963984540054;

/** Wilson score interval of x successes in n (Wilson 1927). n = 0 → [0, 1]. */
export function wilson(x: number, n: number, z = Z95): [number, number] {
  if (n <= 0) return [0, 1];
  const p = x / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = p + z2 / (2 * n);
  const half = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, (centre - half) / denom), Math.min(1, (centre + half) / denom)];
}

export interface Interval {
  estimate: number;
  lower: number;
  upper: number;
}

/** p1 − p2 with Newcombe's hybrid score interval (method 10 of Newcombe 1998). Both n must be positive. */
export function newcombeDifference(x1: number, n1: number, x2: number, n2: number, z = Z95): Interval {
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const [l1, u1] = wilson(x1, n1, z);
  const [l2, u2] = wilson(x2, n2, z);
  const d = p1 - p2;
  return { estimate: d, lower: d - Math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), upper: d + Math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2) };
}

/** p1 / p2 with Katz's log interval; undefined when either group has no successes (the ratio or its interval is not finite). */
export function riskRatioKatz(x1: number, n1: number, x2: number, n2: number, z = Z95): Interval | undefined {
  if (x1 <= 0 || x2 <= 0 || n1 <= 0 || n2 <= 0) return undefined;
  const rr = x1 / n1 / (x2 / n2);
  const se = Math.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2);
  return { estimate: rr, lower: rr * Math.exp(-z * se), upper: rr * Math.exp(z * se) };
}

export interface GroupFigures {
  members: number;
  /** Members with at least one attributed conversion. */
  converted: number;
  /** Attributed conversions (a member may convert more than once in a window). */
  conversions: number;
  revenue: number;
  /** converted / members; null for an empty group. */
  rate: number | null;
  /** Provider-reported, treated group only; null when nothing was reported. */
  delivered: number | null;
  opened: number | null;
  /** `opened` counts members who clicked a tracked link (`{{track}}`). */
  openedByClicks?: boolean;
}

export interface UpliftFigures {
  absolute: Interval;
  /** null when the control group did not convert (no ratio). */
  relative: { estimate: number; lower: number | null; upper: number | null } | null;
  incrementalConversions: Interval;
  incrementalRevenue: number;
  /** null unless incremental conversions are positive. */
  costPerIncrementalConversion: number | null;
}

/**
 * The treated members whose send went out, against the same control group. Labelled, never the measure: which
 * sends fail depends on the member (a stale number, a WeCom contact lost), so the group is not comparable.
 */
export interface SentOnlyFigures {
  members: number;
  converted: number;
  rate: number | null;
  /** null when there is no control group (or no goal). */
  absolute: Interval | null;
}

export interface OutcomeFigures {
  /** Intention to treat: every member assigned a send, whatever became of it. */
  treated: GroupFigures;
  control: GroupFigures;
  /** CNY: channel prices of the treated sends. */
  cost: number;
  /** treated rate / the goal's expected rate. */
  attainment: number | null;
  /** null with a reason in `note` (no holdout, empty group). */
  uplift: UpliftFigures | null;
  sentOnly: SentOnlyFigures;
  note?: string;
}

export interface OccurrenceOutcome extends OutcomeFigures {
  occurrence: string;
  /** Earliest send (or would-be send), epoch ms and project-local text. */
  sendAt: number;
  sendAtLocal: string;
  /** Latest moment a conversion can count (exclusive end of the last window). */
  windowEnd: number;
  /** The conversions file reaches past the end of the window (otherwise the figures may still grow). */
  windowClosed: boolean;
}

export interface CampaignOutcome extends OutcomeFigures {
  name: string;
  title?: string;
  goal: { kind: ResolvedGoal["kind"]; code?: string; minAmount?: number; within: string; expect: number } | null;
  /** Holdout fraction as configured (0 = none). */
  holdout: number;
  occurrences: OccurrenceOutcome[];
}

export interface UpliftReport {
  from?: string;
  to?: string;
  conversions: { rows: number; accepted: number; rejected: number; attributed: number; unattributed: number; latest: number | null };
  campaigns: CampaignOutcome[];
}

export interface UpliftInput {
  sends: OutcomeSend[];
  conversions: Conversion[];
  /** Every campaign of the repository (goals of all of them compete in attribution). */
  campaigns: Pick<ResolvedCampaign, "name" | "title" | "goal" | "holdout">[];
  /** Only these campaigns are reported (default: every campaign with ledger rows). */
  only?: string[];
  tz: string;
  /** Project-local dates: occurrences whose send falls on these days. */
  from?: string;
  to?: string;
  rejected?: number;
}

const NO_HOLDOUT = "no holdout: every member in the audience was sent to, so there is no control group and no uplift; add `holdout 10%` to measure it";

function emptyGroup(): GroupFigures {
  return { members: 0, converted: 0, conversions: 0, revenue: 0, rate: null, delivered: null, opened: null };
}

export function buildUpliftReport(input: UpliftInput): UpliftReport {
  const { sends, conversions, tz } = input;
  const goals = new Map(input.campaigns.map((c) => [c.name, c.goal]));
  const att = attribute(sends, conversions, goals, tz);
  const latest = conversions.length ? conversions.reduce((m, c) => Math.max(m, c.at), -Infinity) : null;
  const inRange = (t: number) => {
    const d = epochToZoned(t, tz).date;
    return (!input.from || d >= input.from) && (!input.to || d <= input.to);
  };

  // Group send indices by campaign and occurrence.
  const byCampaign = new Map<string, Map<string, number[]>>();
  sends.forEach((s, i) => {
    let occs = byCampaign.get(s.campaign);
    if (!occs) byCampaign.set(s.campaign, (occs = new Map()));
    const list = occs.get(s.occurrence);
    if (list) list.push(i);
    else occs.set(s.occurrence, [i]);
  });

  const info = new Map(input.campaigns.map((c) => [c.name, c]));
  const names = input.only?.length ? input.only : [...new Set([...byCampaign.keys()])].sort();
  const out: CampaignOutcome[] = [];
  for (const name of names) {
    const c = info.get(name);
    const goal = c?.goal;
    const occMap = byCampaign.get(name) ?? new Map<string, number[]>();
    const occurrences: OccurrenceOutcome[] = [];
    const all: number[] = [];
    for (const [occurrence, idx] of [...occMap.entries()].sort((a, b) => minSendAt(sends, a[1]) - minSendAt(sends, b[1]) || (a[0] < b[0] ? -1 : 1))) {
      const sendAt = minSendAt(sends, idx);
      if (!inRange(sendAt)) continue;
      for (const i of idx) all.push(i); // not push(...idx): an occurrence of 200,000 members overflows the stack
      const lastAt = idx.reduce((m, i) => Math.max(m, sends[i]!.sendAt), -Infinity);
      const windowEnd = goal ? goalWindowEnd(lastAt, goal.within, tz) : lastAt;
      const z = epochToZoned(sendAt, tz);
      occurrences.push({
        occurrence,
        sendAt,
        sendAtLocal: `${z.date} ${z.time}`,
        windowEnd,
        windowClosed: latest !== null && latest >= windowEnd,
        ...figures(sends, idx, att.bySend, goal, c?.holdout ?? 0),
      });
    }
    const total = figures(sends, all, att.bySend, goal, c?.holdout ?? 0);
    const entry: CampaignOutcome = {
      name,
      goal: goal
        ? {
            kind: goal.kind,
            ...(goal.code !== undefined ? { code: goal.code } : {}),
            ...(goal.minAmount !== undefined ? { minAmount: goal.minAmount } : {}),
            within: `${goal.within.amount} ${goal.within.unit}${goal.within.amount === 1 ? "" : "s"}`,
            expect: goal.expect,
          }
        : null,
      holdout: c?.holdout ?? 0,
      occurrences,
      ...total,
    };
    if (c?.title) entry.title = c.title;
    if (!c) entry.note = "not a campaign of this repository any more: its goal is unknown, so nothing is attributed to it";
    else if (!goal) entry.note = "the campaign has no goal: there is nothing to count";
    out.push(entry);
  }
  return {
    ...(input.from ? { from: input.from } : {}),
    ...(input.to ? { to: input.to } : {}),
    conversions: {
      rows: conversions.length + (input.rejected ?? 0),
      accepted: conversions.length,
      rejected: input.rejected ?? 0,
      attributed: att.attributed,
      unattributed: att.unattributed,
      latest,
    },
    campaigns: out,
  };
}

function minSendAt(sends: OutcomeSend[], idx: number[]): number {
  return idx.reduce((m, i) => Math.min(m, sends[i]!.sendAt), Infinity);
}

function figures(
  sends: OutcomeSend[],
  idx: number[],
  bySend: Map<number, { conversions: number; revenue: number }>,
  goal: ResolvedGoal | undefined,
  holdout: number,
): OutcomeFigures {
  const treated = emptyGroup();
  const control = emptyGroup();
  const sentOnly: SentOnlyFigures = { members: 0, converted: 0, rate: null, absolute: null };
  let cost = 0;
  for (const i of idx) {
    const s = sends[i]!;
    const g = s.group === "treated" ? treated : control;
    g.members++;
    const o = bySend.get(i);
    if (o) {
      g.converted++;
      g.conversions += o.conversions;
      g.revenue += o.revenue;
    }
    if (s.group === "treated" && s.sent) {
      sentOnly.members++;
      if (o) sentOnly.converted++;
    }
    if (s.group === "treated") {
      cost += s.cost;
      if (s.delivered !== null) treated.delivered = (treated.delivered ?? 0) + (s.delivered ? 1 : 0);
      if (s.opened !== null) treated.opened = (treated.opened ?? 0) + (s.opened ? 1 : 0);
      if (s.openedByClicks) treated.openedByClicks = true;
    }
  }
  for (const g of [treated, control]) {
    g.rate = g.members ? g.converted / g.members : null;
    g.revenue = round(g.revenue, 2);
  }
  cost = round(cost, 6);
  const attainment = goal && treated.rate !== null && goal.expect > 0 ? treated.rate / goal.expect : null;
  sentOnly.rate = sentOnly.members ? sentOnly.converted / sentOnly.members : null;
  if (goal && control.members && sentOnly.members)
    sentOnly.absolute = newcombeDifference(sentOnly.converted, sentOnly.members, control.converted, control.members);
  const base = { treated, control, cost, attainment, sentOnly };
  if (!goal) return { ...base, uplift: null };
  if (control.members === 0)
    return { ...base, uplift: null, note: holdout > 0 ? "no held-out members in this period: no control group to compare with" : NO_HOLDOUT };
  if (treated.members === 0) return { ...base, uplift: null, note: "no member was assigned a send: nothing to compare with the control group" };
  const absolute = newcombeDifference(treated.converted, treated.members, control.converted, control.members);
  const rr = control.converted > 0 ? riskRatioKatz(treated.converted, treated.members, control.converted, control.members) : undefined;
  const relative =
    control.converted > 0 ? { estimate: treated.rate! / control.rate! - 1, lower: rr ? rr.lower - 1 : null, upper: rr ? rr.upper - 1 : null } : null;
  const n = treated.members;
  const incremental = { estimate: absolute.estimate * n, lower: absolute.lower * n, upper: absolute.upper * n };
  const incrementalRevenue = round((treated.revenue / treated.members - control.revenue / control.members) * n, 2);
  return {
    ...base,
    uplift: {
      absolute,
      relative,
      incrementalConversions: incremental,
      incrementalRevenue,
      costPerIncrementalConversion: incremental.estimate > 1e-9 ? round(cost / incremental.estimate, 4) : null,
    },
  };
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
