/**
 * The one planner (docs/language.md, "Delivery semantics"). Phase one selects candidates in DuckDB
 * (candidates.ts); phase two walks occurrences in send-time order — same moment: higher priority first,
 * then campaign name — and decides each member: unreachable → repeat → policy.max → channel quota → limit →
 * budget → holdout → send. The holdout is drawn last, from exactly the members who would be sent, so that the
 * control group is comparable with the treated one; a held-out member uses up no cap, quota, limit or budget
 * (only `repeat`, the campaign's own rhythm, counts the decision). `audience = holdout + unreachable + capped +
 * sends` by construction.
 */
import { createHash } from "node:crypto";
import type { ResolvedCampaign } from "../resolved/types.js";
import type { Occurrence } from "../calendar/types.js";
import { expandOccurrences } from "../calendar/occurrences.js";
import { epochToZoned } from "../calendar/time.js";
import type { Template } from "../content/types.js";
import type { Project } from "../project/types.js";
import { buildCandidates } from "./candidates.js";
import { ident as q } from "../members/sql.js";
import { loadSuppressed } from "./suppressed.js";
import { contentKindOf, renderedFields, sectionKeyOf, renderSends, SendLog, type RenderResult } from "./content.js";
import { COMPACT_UNTIL, LastSends, periodClock, RuleSet } from "./caps.js";
import { RenderPool } from "./render-pool.js";
import { deferSendTime } from "./defer.js";
import { addDuration } from "./duration.js";
import { readByOccurrence, readSendable, settledCounts, sumSendable } from "./read.js";
import { SenderMessageTally, senderFieldsOf } from "./sender-messages.js";
import { walkOccurrence, type OccWork, type WalkState } from "./walk.js";
import type { BusinessEvent, Plan, PlanInput, PlannedOccurrence } from "./types.js";

export { addDuration };

/** Member fields a campaign's sends need: template variables, channel address and sender. */
export function fieldsFor(campaign: ResolvedCampaign, project: Project, templates: Map<string, Template>): string[] {
  const fields = new Set<string>();
  const t = templates.get(campaign.template);
  for (const v of t?.variables ?? []) if (project.members.fields.has(v.name) && !(v.name in campaign.with)) fields.add(v.name);
  for (const ch of campaign.channels) {
    const c = project.channels.get(ch);
    if (!c) continue;
    fields.add(c.address);
    if (c.sender) fields.add(c.sender);
  }
  return [...fields];
}

export const eventOccurrenceId = (ident: string) => `event:${ident}`;

/**
 * The occurrences business events give a campaign triggered by their name: each at the event's moment plus the
 * trigger's offset, inside the campaign's `active` dates.
 */
export function eventOccurrences(c: ResolvedCampaign, project: Project, events: readonly BusinessEvent[]): Occurrence[] {
  const t = c.trigger;
  if (t.kind !== "business_event") return [];
  const tz = project.timezone;
  const out: Occurrence[] = [];
  for (const e of events) {
    if (e.name !== t.event) continue;
    const at = t.offset ? addDuration(e.time, t.offset, tz) : e.time;
    const z = epochToZoned(at, tz);
    if (c.active && (z.date < c.active.from || z.date > c.active.to)) continue;
    out.push({
      campaign: c.name,
      date: z.date,
      time: z.time,
      at,
      id: eventOccurrenceId(e.ident),
      event: `${t.offset ? `${t.offset.amount} ${t.offset.unit}${t.offset.amount === 1 ? "" : "s"} after ` : ""}event ${e.name}`,
      perMember: true,
      businessEvent: { member: e.member, props: e.props },
    });
  }
  return out;
}

/**
 * Each campaign's occurrences to plan (calendar ones, or one per business event), those the due window keeps, and
 * the order the walk takes them in: by send time, then priority, then name.
 */
function scheduleOccurrences(input: ScheduleInput): { perCampaign: Occurrence[][]; work: OccWork[] } {
  const { project, campaigns, due } = input;
  const work: OccWork[] = [];
  const perCampaign: Occurrence[][] = campaigns.map((c, ci) => {
    const kept: Occurrence[] = [];
    const occs = c.trigger.kind === "business_event" ? eventOccurrences(c, project, input.events ?? []) : expandOccurrences(c, project, input.from, input.to);
    for (const o of occs) {
      if (input.skipOccurrences?.has(`${c.name}|${o.id}`)) continue;
      const sendAt = deferSendTime(o.at, project.timezone, project.policy.quietHours, c.sendWindow);
      if (due && (sendAt < due.fromMs || sendAt > due.toMs)) continue;
      work.push({ campaignIndex: ci, occIndex: kept.length, occurrence: o, sendAt });
      kept.push(o);
    }
    return kept;
  });
  const name = (w: OccWork) => campaigns[w.campaignIndex]!.name;
  work.sort(
    (a, b) =>
      a.sendAt - b.sendAt ||
      campaigns[b.campaignIndex]!.priority - campaigns[a.campaignIndex]!.priority ||
      (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0) ||
      a.occurrence.at - b.occurrence.at,
  );
  return { perCampaign, work };
}

/** What the schedule of occurrences is made of: the calendar and the events, never the members. */
type ScheduleInput = Pick<PlanInput, "project" | "campaigns" | "from" | "to" | "due" | "events" | "skipOccurrences">;

/** Whether any occurrence is left to plan: known from the calendar and the events alone, without the snapshot. */
export function hasOccurrencesToPlan(input: ScheduleInput): boolean {
  return scheduleOccurrences(input).work.length > 0;
}

/** The plan of a window in which no occurrence is left to plan (`hasOccurrencesToPlan` is false). */
export function emptyPlan(input: Pick<PlanInput, "from" | "to">): Plan {
  return { from: input.from, to: input.to, occurrences: [], decisions: [], membersReached: 0, timings: {} };
}

/** The channel of a held-out member's row in the ledger and in history: no channel, nothing sent. */
export const HELD_OUT_CHANNEL = "-";

export async function plan(input: PlanInput): Promise<Plan> {
  const { members } = input;
  const conn = members.conn;
  const render = input.render !== false;
  // Occurrences, with the moment their sends go out.
  const { perCampaign, work } = scheduleOccurrences(input);
  const timings: Record<string, number> = {};
  let mark = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    timings[name] = (timings[name] ?? 0) + Math.round(now - mark);
    mark = now;
  };
  // Phase one: candidates per campaign, in DuckDB.
  const phase = await selectCandidates(input, perCampaign, render, lap);
  lap("candidates");
  const st = await walkState(input, perCampaign, work, phase);
  lap("walk:read");
  input.onWalk?.();
  const occurrences: PlannedOccurrence[] = [];
  const byWork = new Map<string, PlannedOccurrence>();
  for (const w of work) {
    const po = await walkOccurrence(st, w);
    occurrences.push(po);
    byWork.set(`${w.campaignIndex}|${w.occIndex}`, po);
    input.onProgress?.(occurrences.length, work.length);
  }
  lap("walk");
  await renderAfterWalk(input, st, phase.shared, render, byWork);
  for (const po of occurrences) po.funnel.cost = Math.round(po.funnel.cost * 1e6) / 1e6;
  lap("render");
  for (const t of st.tables) if (t) await conn.run(`DROP TABLE IF EXISTS ${t}`);
  let membersReached = 0;
  for (let i = 0; i < st.reached.length; i++) membersReached += st.reached[i]!;
  const result: Plan = { from: input.from, to: input.to, occurrences, decisions: st.decisions, membersReached, timings };
  if (st.kept) result.kept = st.kept;
  if (input.suppressed) result.suppressed = phase.suppressedMembers;
  if (st.tally) result.senderMessages = st.tally.result();
  return result;
}

/** Phase one's result: a candidates table per campaign ("" without occurrences), and what it carries. */
interface Selected {
  tables: string[];
  /** A table whose rows (occ = -1) stand for every occurrence of the campaign. */
  shared: boolean[];
  rowsOf: boolean[];
  inline: boolean[];
  fieldLists: string[][];
  senders: ((string | undefined)[] | undefined)[];
  suppressedMembers: number;
}

/** Phase one: each campaign's candidates per occurrence, selected in DuckDB. */
async function selectCandidates(input: PlanInput, perCampaign: Occurrence[][], render: boolean, lap: (name: string) => void): Promise<Selected> {
  const { project, campaigns, templates, members } = input;
  const fieldLists = campaigns.map((c) => fieldsFor(c, project, templates));
  // Campaigns whose member decisions are kept (all with memberRows).
  const rowsOf = campaigns.map(() => !!input.memberRows);
  // Plain simulation renders after the walk, once per distinct message (see renderSends): the walk itself then reads
  // only integers back from DuckDB. Campaigns with a budget need each send's cost in order, and member rows need the
  // content, so those render inline.
  const inline = campaigns.map((c, ci) => rowsOf[ci]! || c.budget !== undefined);
  // Sends per sender and message (WeCom tasks per staff member): per channel, the sender field, where counted.
  const senders = campaigns.map((c) => (input.senderMessagesFor?.has(c.name) ? senderFieldsOf(c, project) : undefined));
  const suppressedMembers = input.suppressed?.length ? await loadSuppressed(members.conn, project, members.table, input.suppressed) : 0;
  // Kept candidates depend on the suppressions in force too (they make members unreachable).
  const salt = suppressedMembers ? createHash("sha256").update(JSON.stringify(input.suppressed)).digest("hex") : "";
  const cache = input.candidateCache ? { store: input.candidateCache, salt } : undefined;
  const tables: string[] = [];
  const shared: boolean[] = [];
  for (let ci = 0; ci < campaigns.length; ci++) {
    if (!perCampaign[ci]!.length) {
      tables.push("");
      shared.push(false);
      continue;
    }
    // Field values are carried in the candidates: all of them where the walk renders inline, otherwise those
    // renderSends reads to tell distinct messages apart (a join of the sends with ten million members costs more).
    const carry = inline[ci]!
      ? fieldLists[ci]!
      : render
        ? renderedFields(campaigns[ci]!, fieldLists[ci]!, templates, project, senders[ci]).map((f) => f.field)
        : [];
    const c = campaigns[ci]!;
    const cq = await buildCandidates(
      members.conn,
      ci,
      c,
      perCampaign[ci]!,
      project,
      input.exclude,
      members.table,
      carry,
      rowsOf[ci]!,
      suppressedMembers > 0,
      cache,
    );
    tables.push(cq.table);
    shared.push(cq.shared);
    if (process.env.CHUDA_TIMING) lap(`candidates:${c.name}`);
  }
  return { tables, shared, rowsOf, inline, fieldLists, senders, suppressedMembers };
}

/** Phase two's starting state: caps seeded from history, and the candidates read back as the walk will take them. */
async function walkState(input: PlanInput, perCampaign: Occurrence[][], work: OccWork[], phase: Selected): Promise<WalkState> {
  const { project, campaigns, templates, members } = input;
  const conn = members.conn;
  const { tables, shared, inline } = phase;
  const settled = await settledCounts(
    conn,
    tables,
    inline,
    shared,
    perCampaign.map((o) => o.length),
  );
  // Per-member state in typed arrays.
  const sizeRow = await conn.runAndReadAll(`SELECT COALESCE(MAX(rowid), -1) + 1 AS n FROM ${members.table}`);
  const size = Number(sizeRow.getRows()[0]![0] ?? 0);
  const clock = periodClock(project.timezone);
  // 32-bit state unless the plan (or an earlier send) reaches the next century.
  const wide = Date.parse(input.to) >= COMPACT_UNTIL || (input.history ?? []).some((h) => h.at >= COMPACT_UNTIL);
  const global = new RuleSet(project.policy.max, size, clock, wide);
  const quotas = new Map([...project.channels.keys()].map((ch) => [ch, new RuleSet(project.channels.get(ch)!.quota, size, clock, wide)]));
  // The last send per member for campaigns with `repeat`, sized by how many members the campaign can reach.
  const earlier = new Map<string, number>();
  for (const h of input.history ?? []) earlier.set(h.campaign, (earlier.get(h.campaign) ?? 0) + 1);
  const lastSend: (LastSends | undefined)[] = [];
  for (const [ci, c] of campaigns.entries()) {
    if (c.repeat.kind === "per_occurrence" || !perCampaign[ci]!.length) {
      lastSend.push(undefined);
      continue;
    }
    const reachable = settled[ci] ? sumSendable(settled[ci]!) : Number((await conn.runAndReadAll(`SELECT count(*) FROM ${tables[ci]}`)).getRows()[0]![0]);
    lastSend.push(new LastSends(size, reachable + (earlier.get(c.name) ?? 0)));
  }
  if (input.history?.length) await seedHistory(input, size, global, quotas, lastSend);
  const sendable: WalkState["sendable"] = [];
  for (let ci = 0; ci < tables.length; ci++)
    if (settled[ci])
      sendable[ci] = shared[ci]
        ? await readSendable(conn, tables[ci]!, 1, settled[ci]!.get(0)?.sendable ?? 0, false, true)
        : await readSendable(conn, tables[ci]!, perCampaign[ci]!.length, sumSendable(settled[ci]!), !!campaigns[ci]!.limit);
  // Business-event campaigns have one small occurrence per event: their candidates are read in one query and
  // bucketed by occurrence, instead of one query per occurrence in the walk.
  const byOcc: WalkState["byOcc"] = [];
  for (let ci = 0; ci < tables.length; ci++)
    if (!sendable[ci] && tables[ci] && campaigns[ci]!.trigger.kind === "business_event")
      byOcc[ci] = await readByOccurrence(conn, tables[ci]!, phase.rowsOf[ci]!, inline[ci]! ? phase.fieldLists[ci]! : []);
  return {
    input,
    ...phase,
    settled,
    sendable,
    byOcc,
    global,
    quotas,
    lastSend,
    reached: new Uint8Array(size),
    committedRows: input.committed?.size ? await committedRowsOf(input, work) : undefined,
    kept: input.committed && input.memberRows ? new Set<string>() : undefined,
    tally: input.senderMessagesFor?.size ? new SenderMessageTally() : undefined,
    // Rendering: one cache per campaign (content does not depend on the occurrence), keyed by the values of the
    // member fields the channel's template section reads, so a distinct message is rendered once.
    renderCaches: campaigns.map(() => new Map<string, RenderResult>()),
    keyColumns: campaigns.map((c, ci) => {
      const t = templates.get(c.template);
      return c.channels.map((ch) => {
        const kind = sectionKeyOf(t, project, ch);
        const names = new Set((t?.variables ?? []).filter((v) => v.kind === kind).map((v) => v.name));
        return phase.fieldLists[ci]!.flatMap((f, j) => (names.has(f) ? [j] : []));
      });
    }),
    sendLog: campaigns.map(() => new SendLog()),
    sendCount: campaigns.map(() => 0),
    decisions: [],
  };
}

/** Plain simulation's campaigns: cost and content rules of their sends, once per distinct message (renderSends). */
async function renderAfterWalk(input: PlanInput, st: WalkState, shared: boolean[], render: boolean, byWork: Map<string, PlannedOccurrence>) {
  const { campaigns, members, project, templates } = input;
  let pool: RenderPool | undefined;
  let poolTried = false;
  const workers = () => {
    if (!poolTried) pool = RenderPool.create();
    poolTried = true;
    return pool;
  };
  const toRender = campaigns.flatMap((_, ci) => (st.inline[ci] || !st.sendCount[ci] ? [] : [ci]));
  if (toRender.length) input.onRenderProgress?.(0, toRender.length);
  try {
    for (const [k, ci] of toRender.entries()) {
      // A shared table's rows stand for every occurrence: the sends are derived from them once per occurrence.
      const candidates = shared[ci] ? `(SELECT o.occ, c.* EXCLUDE (occ) FROM ${st.tables[ci]} c CROSS JOIN occ_${ci} o)` : st.tables[ci]!;
      const counted = st.senders[ci] ? { fields: st.senders[ci], tally: st.tally! } : undefined;
      await renderSends(
        members.conn,
        ci,
        candidates,
        st.sendLog[ci]!,
        campaigns[ci]!,
        st.fieldLists[ci]!,
        templates,
        project,
        render,
        byWork,
        workers,
        counted,
      );
      input.onRenderProgress?.(k + 1, toRender.length);
    }
  } finally {
    await pool?.close();
  }
}

/**
 * Earlier sends (from the ledger) count against caps, quotas and repeat, matched to member rows in DuckDB. An
 * earlier holdout decision (channel `-`) counts for the campaign's repeat only: nothing was sent.
 */
async function seedHistory(input: PlanInput, size: number, global: RuleSet, quotas: Map<string, RuleSet>, lastSend: (LastSends | undefined)[]) {
  const { conn, table } = input.members;
  const key = q(input.project.members.key);
  await conn.run(`CREATE OR REPLACE TEMP TABLE plan_history (member VARCHAR, campaign VARCHAR, channel VARCHAR, sent_at DOUBLE)`);
  const appender = await conn.createAppender("plan_history", "main", "temp");
  for (const h of input.history!) {
    appender.appendVarchar(h.member);
    appender.appendVarchar(h.campaign);
    appender.appendVarchar(h.channel);
    appender.appendDouble(h.at);
    appender.endRow();
  }
  appender.closeSync();
  const res = await conn.runAndReadAll(
    `SELECT CAST(m.rowid AS INTEGER), h.campaign, h.channel, h.sent_at FROM plan_history h JOIN ${table} m ON CAST(m.${key} AS VARCHAR) = h.member ORDER BY h.sent_at`,
  );
  const index = new Map(input.campaigns.map((c, i) => [c.name, i]));
  for (const [rid, campaign, channel, at] of res.getRows() as [number, string, string, number][]) {
    if (rid >= size) continue;
    if (channel !== HELD_OUT_CHANNEL) {
      global.record(rid, at);
      quotas.get(channel)?.record(rid, at);
    }
    const ci = index.get(campaign);
    if (ci !== undefined && lastSend[ci]) lastSend[ci]!.set(rid, Math.max(lastSend[ci]!.get(rid), at));
  }
  await conn.run(`DROP TABLE plan_history`);
}

/** Rows of the members an earlier dispatch run planned, per occurrence of the walk (`${campaign index}|${occ index}`). */
async function committedRowsOf(input: PlanInput, work: OccWork[]): Promise<Map<string, Set<number>>> {
  const { conn, table } = input.members;
  const key = q(input.project.members.key);
  const out = new Map<string, Set<number>>();
  const items = new Map<string, string>();
  for (const w of work) {
    const k = `${input.campaigns[w.campaignIndex]!.name}|${w.occurrence.id}`;
    if (input.committed!.get(k)?.size) items.set(k, `${w.campaignIndex}|${w.occIndex}`);
  }
  if (!items.size) return out;
  await conn.run(`CREATE OR REPLACE TEMP TABLE plan_committed (item VARCHAR, member VARCHAR)`);
  const appender = await conn.createAppender("plan_committed", "main", "temp");
  for (const [k, item] of items)
    for (const m of input.committed!.get(k)!) {
      appender.appendVarchar(item);
      appender.appendVarchar(m);
      appender.endRow();
    }
  appender.closeSync();
  const res = await conn.runAndReadAll(`SELECT p.item, CAST(m.rowid AS INTEGER) FROM plan_committed p JOIN ${table} m ON CAST(m.${key} AS VARCHAR) = p.member`);
  for (const [item, rid] of res.getRows() as [string, number][]) {
    let rows = out.get(item);
    if (!rows) out.set(item, (rows = new Set()));
    rows.add(rid);
  }
  await conn.run(`DROP TABLE plan_committed`);
  return out;
}

export { contentKindOf };
