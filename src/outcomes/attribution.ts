/**
 * Last-touch attribution of conversions to sends (README.md in this folder is the rule, in words).
 *
 * Every send of the ledger — treated (every member assigned a send, whatever became of it: intention to treat) or
 * control (`held_out`, the moment the send would have gone out) — opens its campaign's goal window `[sendAt, sendAt + within)`. A conversion belongs to the LATEST
 * send to the same member whose window contains it and whose goal it matches; it counts once, for that send only.
 * Control records compete exactly like sends, so that a member held out of one campaign and reached by another
 * is credited the same way in both groups.
 */
import Database from "better-sqlite3";
import { epochToZoned, zonedToEpoch } from "../calendar/time.js";
import type { ResolvedGoal } from "../resolved/types.js";
import type { Conversion } from "./conversions.js";

export type Group = "treated" | "control";

/** One member of one occurrence of a campaign, from the ledger. */
export interface OutcomeSend {
  campaign: string;
  occurrence: string;
  member: string;
  group: Group;
  /** When it was (or, for the control group, would have been) sent: epoch ms. */
  sendAt: number;
  /** Channels of the treated rows (a fallback may add a second row for one member). */
  channels: string[];
  /** CNY spent on this member for this occurrence (sum of the channel prices of its sent rows). */
  cost: number;
  /** Treated and a send went out (`sent` or `queued`): the sent-only figure beside the intention-to-treat one. */
  sent: boolean;
  /** Provider-reported delivery and opening; `null` when the provider reported nothing. */
  delivered: boolean | null;
  opened: boolean | null;
  /** `opened` counts clicks on tracked links (`{{track}}`), not a provider's report. */
  openedByClicks?: boolean;
}

/** A conversion matches a goal: redeem code equal, purchase amount ≥ minimum, event name equal, any visit. */
export function goalMatches(goal: Pick<ResolvedGoal, "kind" | "code" | "minAmount">, c: Pick<Conversion, "kind" | "code" | "amount">): boolean {
  if (goal.kind !== c.kind) return false;
  switch (goal.kind) {
    case "redeem":
    case "event":
      return goal.code === undefined || goal.code === c.code;
    case "purchase":
      return goal.minAmount === undefined || (c.amount !== undefined && c.amount >= goal.minAmount);
    case "visit":
      return true;
  }
}

const FIXED_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000 };

/**
 * The end (exclusive) of a goal window starting at `t`. Days and weeks are fixed lengths; months and years are
 * calendar months in the project timezone (31 January + 1 month = 28/29 February), like the planner's durations.
 */
export function goalWindowEnd(t: number, within: ResolvedGoal["within"], tz: string): number {
  const fixed = FIXED_MS[within.unit];
  if (fixed) return t + within.amount * fixed;
  const z = epochToZoned(t, tz);
  const [y, m, d] = z.date.split("-").map(Number) as [number, number, number];
  const total = y * 12 + (m - 1) + (within.unit === "year" ? within.amount * 12 : within.amount);
  const ny = Math.floor(total / 12);
  const nm = (total % 12) + 1;
  const last = new Date(Date.UTC(ny, nm, 0)).getUTCDate();
  const date = `${String(ny).padStart(4, "0")}-${String(nm).padStart(2, "0")}-${String(Math.min(d, last)).padStart(2, "0")}`;
  return zonedToEpoch(date, z.minutes, tz) + (t % 60_000);
}

export interface SendOutcome {
  /** Conversions attributed to this send. */
  conversions: number;
  /** Sum of their amounts (CNY). */
  revenue: number;
}

export interface Attribution {
  /** Index into `sends` → what was attributed to it (sends with nothing are absent). */
  bySend: Map<number, SendOutcome>;
  /** Which send each conversion went to (index into `conversions` → index into `sends`). */
  byConversion: Map<number, number>;
  attributed: number;
  /** Conversions no send's window and goal contain. */
  unattributed: number;
}

/** Applies the last-touch rule. `goals` by campaign name; a campaign without a goal attracts nothing. */
export function attribute(
  sends: readonly OutcomeSend[],
  conversions: readonly Conversion[],
  goals: ReadonlyMap<string, ResolvedGoal | undefined>,
  tz: string,
): Attribution {
  // Per member: send indices, latest first (ties: campaign name, then occurrence, for a stable answer).
  const byMember = new Map<string, number[]>();
  const ends = new Float64Array(sends.length);
  sends.forEach((s, i) => {
    const goal = goals.get(s.campaign);
    if (!goal) return;
    ends[i] = goalWindowEnd(s.sendAt, goal.within, tz);
    const list = byMember.get(s.member);
    if (list) list.push(i);
    else byMember.set(s.member, [i]);
  });
  for (const list of byMember.values())
    list.sort((a, b) => {
      const x = sends[a]!;
      const y = sends[b]!;
      return (
        y.sendAt - x.sendAt ||
        (x.campaign < y.campaign ? -1 : x.campaign > y.campaign ? 1 : 0) ||
        (x.occurrence < y.occurrence ? -1 : x.occurrence > y.occurrence ? 1 : 0)
      );
    });

  const bySend = new Map<number, SendOutcome>();
  const byConversion = new Map<number, number>();
  let attributed = 0;
  conversions.forEach((c, ci) => {
    const list = byMember.get(c.member);
    if (!list) return;
    for (const i of list) {
      const s = sends[i]!;
      if (s.sendAt > c.at) continue; // a later send cannot claim an earlier conversion
      if (c.at >= ends[i]!) continue; // outside this send's window; an earlier send's window may still hold it
      if (!goalMatches(goals.get(s.campaign)!, c)) continue;
      const o = bySend.get(i);
      if (o) {
        o.conversions++;
        o.revenue += c.amount ?? 0;
      } else bySend.set(i, { conversions: 1, revenue: c.amount ?? 0 });
      byConversion.set(ci, i);
      attributed++;
      return;
    }
  });
  return { bySend, byConversion, attributed, unattributed: conversions.length - attributed };
}

/**
 * Intention to treat: every member the plan assigned a send is treated, whatever became of the send — still
 * pending, failed, unknown, expired, or withdrawn because the member left the audience after the plan (dropping
 * those would drop from one group only the members the control keeps). Only `sent` and `queued` went out.
 */
export const ASSIGNED_STATES = ["planned", "in_flight", "sent", "queued", "failed", "unknown", "expired", "withdrawn"] as const;
const TREATED = new Set<string>(ASSIGNED_STATES);
const WENT_OUT = new Set(["sent", "queued"]);

/** A ledger row as read for outcomes. */
export interface LedgerOutcomeRow {
  campaign: string;
  occurrence: string;
  member: string;
  channel: string;
  state: string;
  send_at: number;
  content: string | null;
  delivered?: number | null;
  opened?: number | null;
  /** 1 when the send's links are tracked: `opened` is then whether one was clicked. */
  tracked?: number | null;
}

/**
 * Folds ledger rows into one OutcomeSend per (campaign, occurrence, member): treated when the member was assigned
 * a send (any state of ASSIGNED_STATES), control when held out. `costOf` prices one sent or queued row.
 */
export function outcomeSends(rows: Iterable<LedgerOutcomeRow>, costOf: (row: LedgerOutcomeRow) => number): OutcomeSend[] {
  const byKey = new Map<string, OutcomeSend>();
  for (const r of rows) {
    let group: Group | undefined;
    if (TREATED.has(r.state)) group = "treated";
    else if (r.state === "held_out") group = "control";
    if (!group) continue;
    const key = `${r.campaign}\u0000${r.occurrence}\u0000${r.member}`;
    let s = byKey.get(key);
    if (!s) {
      s = {
        campaign: r.campaign,
        occurrence: r.occurrence,
        member: r.member,
        group,
        sendAt: r.send_at,
        channels: [],
        cost: 0,
        sent: false,
        delivered: null,
        opened: null,
      };
      byKey.set(key, s);
    } else if (group === "treated" && s.group === "control") s.group = "treated"; // should not happen; sends win
    if (group === "treated") {
      s.channels.push(r.channel);
      s.sendAt = Math.min(s.sendAt, r.send_at);
      if (WENT_OUT.has(r.state)) {
        s.sent = true;
        s.cost += costOf(r);
      }
      if (r.delivered !== undefined && r.delivered !== null) s.delivered = !!s.delivered || !!r.delivered;
      if (r.opened !== undefined && r.opened !== null) s.opened = !!s.opened || !!r.opened;
      if (r.tracked) s.openedByClicks = true;
    }
  }
  return [...byKey.values()];
}

/**
 * Reads the sends that matter for outcomes from `.chuda/state.db`, read-only. Optional provider columns
 * (`delivered_at` and `delivery_at`, set by delivery receipts; `opened_at` where something records opens) are used
 * when present.
 */
export function readLedgerOutcomeRows(file: string): LedgerOutcomeRow[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return queryOutcomeRows(db);
  } finally {
    db.close();
  }
}

/** The query of `readLedgerOutcomeRows` on an open SQLite ledger. */
export function queryOutcomeRows(db: Database.Database): LedgerOutcomeRow[] {
  const cols = new Set((db.prepare(`PRAGMA table_info(sends)`).all() as { name: string }[]).map((c) => c.name));
  if (!cols.size) return [];
  // A final receipt says delivered (1) or not (0); a send without one is not known either way (NULL).
  const delivered = cols.has("delivery_at")
    ? "CASE WHEN delivered_at IS NOT NULL THEN 1 WHEN delivery_at IS NOT NULL THEN 0 END"
    : cols.has("delivered_at")
      ? "CASE WHEN delivered_at IS NULL THEN NULL ELSE 1 END"
      : "NULL";
  const reported = cols.has("opened_at") ? "CASE WHEN opened_at IS NULL THEN NULL ELSE 1 END" : "NULL";
  // A send with tracked links (`{{track}}`): opened is whether a member clicked one of them.
  const tracking = !!db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'links'`).get();
  const tracked = tracking ? `(CASE WHEN EXISTS (SELECT 1 FROM links l WHERE l.send_key = sends.key) THEN 1 ELSE NULL END)` : "NULL";
  const opened = tracking
    ? `(CASE WHEN ${tracked} = 1 THEN (CASE WHEN EXISTS (SELECT 1 FROM clicks k WHERE k.send_key = sends.key) THEN 1 ELSE 0 END) ELSE ${reported} END)`
    : reported;
  return db
    .prepare(
      `SELECT campaign, occurrence, member, channel, state, send_at, content, ${delivered} AS delivered, ${opened} AS opened, ${tracked} AS tracked
         FROM sends WHERE state IN (${[...ASSIGNED_STATES, "held_out"].map((x) => `'${x}'`).join(", ")}) ORDER BY campaign, occurrence, member, channel`,
    )
    .all() as LedgerOutcomeRow[];
}
