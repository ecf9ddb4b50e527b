/**
 * Phase one of planning, inside DuckDB: for one campaign, every (occurrence, member) pair in its audience,
 * with what the sequential phase needs — holdout flag, reachable channels as a bitmask, the limit order
 * and the template variables. One scan of the member table per campaign, not per occurrence.
 */
import { createHash } from "node:crypto";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { ResolvedCampaign, IR } from "../resolved/types.js";
import type { Occurrence } from "../calendar/types.js";
import type { Project, FieldType } from "../project/types.js";
import { compileAudience, compileValue } from "../members/compile.js";
import { ident as q } from "../members/sql.js";
import { notSuppressedSql } from "./suppressed.js";
import { sqlType } from "../members/snapshot.js";
import { literal } from "../members/sql.js";
import { listText } from "../members/list-text.js";
import type { CandidateCache } from "./types.js";

/** SQL that is true when the member can be addressed on a channel: address present, consent true, sender present. */
export function channelReachableSql(project: Project, channel: string, alias = "m", suppressed = false): string {
  const c = project.channels.get(channel);
  if (!c) return "FALSE";
  const parts = [`${alias}.${q(c.address)} IS NOT NULL`, `CAST(${alias}.${q(c.address)} AS VARCHAR) <> ''`];
  if (c.consent) parts.push(`COALESCE(${alias}.${q(c.consent)}, FALSE)`);
  if (c.sender) parts.push(`${alias}.${q(c.sender)} IS NOT NULL`, `CAST(${alias}.${q(c.sender)} AS VARCHAR) <> ''`);
  // An opt-out recorded in the ledger (src/plan/suppressed.ts): the member cannot be addressed on this channel.
  if (suppressed) parts.push(notSuppressedSql(project, channel, alias));
  return `(${parts.join(" AND ")})`;
}

/** A column read back to JS as a plain value: dates and times as text, lists joined. */
export function readableColumn(field: string, type: FieldType, alias = "m"): string {
  const col = `${alias}.${q(field)}`;
  switch (type.kind) {
    case "date":
      return `strftime(${col}, '%Y-%m-%d')`;
    case "datetime":
      return `strftime(${col}, '%Y-%m-%d %H:%M:%S')`;
    case "list":
      return col; // stored as `a;b` (list-text.ts)
    case "number":
      return `CAST(${col} AS DOUBLE)`;
    default:
      return `CAST(${col} AS VARCHAR)`;
  }
}

export interface CandidateQuery {
  table: string;
  /** Columns after the fixed ones (occ, rid, held, chans, mkey): member fields read by templates and channels. */
  fields: string[];
  /**
   * One row per member for every occurrence alike (occ = -1): the audience does not depend on the occurrence
   * (no `today`/`now`, not a member date, no active window) and nothing is ordered inside an occurrence. A
   * weekly campaign then stores its audience once, not once a week.
   */
  shared: boolean;
}

/**
 * Builds `cand_<n>`: columns occ (index into `occs`), rid (member row), held, chans (bit j = channel j reachable),
 * mkey (member key, with member rows only), then `fields`. Where the order inside an occurrence matters (limit,
 * budget, member rows) it is sorted by occurrence, then the limit order or member key. Otherwise it is not
 * sorted at all: each member appears once per occurrence and caps are per member, so no order inside an
 * occurrence can change a decision.
 */
export async function buildCandidates(
  conn: DuckDBConnection,
  n: number,
  campaign: ResolvedCampaign,
  occs: Occurrence[],
  project: Project,
  exclude: IR | undefined,
  membersTable: string,
  fields: string[],
  /** Member rows are kept: carry member keys and keep members in key order inside each occurrence. */
  memberOrder: boolean,
  /** `plan_suppressed` exists: suppressed members are unreachable on their channels. */
  suppressed = false,
  /** Candidates kept from earlier runs, and what else they depend on (the suppressions in force). */
  cache?: { store: CandidateCache; salt: string },
): Promise<CandidateQuery> {
  const table = `cand_${n}`;
  const occTable = `occ_${n}`;
  const schema = project.members;
  const t = campaign.trigger;
  const eventProps = t.kind === "business_event" ? [...(project.events?.get(t.event) ?? new Map<string, FieldType>())] : undefined;
  if (eventProps) await createEventOccurrences(conn, occTable, occs, eventProps);
  else {
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${occTable} (occ INTEGER, day DATE, now TIMESTAMP)`);
    if (occs.length) {
      const values = occs.map((o, i) => `(${i}, DATE '${o.date}', TIMESTAMP '${o.date} ${o.time}:00')`).join(",");
      await conn.run(`INSERT INTO ${occTable} VALUES ${values}`);
    }
  }
  const ctx = { today: "o.day", now: "o.now", alias: "m", project, eventProp: (name: string) => `o.${q("ev_" + name)}` };
  const params: unknown[] = [];
  const aud = compileAudience(campaign.audience, schema, ctx);
  params.push(...aud.params);
  let where = `(${aud.sql})`;
  if (exclude) {
    const ex = compileAudience(exclude, schema, ctx);
    where += ` AND NOT COALESCE((${ex.sql}), FALSE)`;
    params.push(...ex.params);
  }
  let from = `${membersTable} m JOIN ${occTable} o ON TRUE`;
  // A business event's occurrence is for its own member only (an equality, so DuckDB joins by hash).
  if (eventProps) from = `${membersTable} m JOIN ${occTable} o ON CAST(m.${q(schema.key)} AS VARCHAR) = o.member`;
  if (t.kind === "member_date") {
    const years: [number, number] = occs.length
      ? anniversaryYears(t, Number(occs[0]!.date.slice(0, 4)), Number(occs[occs.length - 1]!.date.slice(0, 4)))
      : [0, -1];
    const days = occs.map((o) => o.date).sort();
    const j = memberDateJoin(t, years, days.length ? [days[0]!, days[days.length - 1]!] : undefined);
    from = `${membersTable} m${j.yearsFrom} JOIN ${occTable} o ON ${j.on}`;
    if (j.where) where += ` AND ${j.where}`;
  }
  if (campaign.active) where += ` AND o.day BETWEEN DATE '${campaign.active.from}' AND DATE '${campaign.active.to}'`;
  const key = `m.${q(schema.key)}`;
  const holdoutBasis = 10000;
  const held =
    campaign.holdout > 0
      ? `(md5_number_lower(CAST(${key} AS VARCHAR) || ':' || '${campaign.name}') % ${holdoutBasis}) < ${Math.round(campaign.holdout * holdoutBasis)}`
      : "FALSE";
  const chans = campaign.channels.map((c, j) => `(CASE WHEN ${channelReachableSql(project, c, "m", suppressed)} THEN ${1 << j} ELSE 0 END)`).join(" + ") || "0";
  // Order matters only where a decision depends on who comes first inside an occurrence (limit, budget) or
  // member rows are listed; otherwise the walk buckets rows by occurrence itself and no sort is paid for.
  const ordered = memberOrder || !!campaign.limit || campaign.budget !== undefined;
  let order = `${key}`;
  if (campaign.limit?.orderBy) {
    const v = compileValue(campaign.limit.orderBy.value, schema, ctx);
    params.push(...v.params);
    order = `(${v.sql}) ${campaign.limit.orderBy.direction === "asc" ? "ASC" : "DESC"} NULLS LAST, ${key}`;
  }
  // Field values are read only for members the walk may send to (held-out ones too: the holdout is drawn among
  // them, and a budget prices them like the rest): unreachable rows carry NULLs, which cost next to nothing to
  // store (the repeated expressions are computed once: DuckDB eliminates common subexpressions).
  const sendable = `(${chans}) <> 0`;
  const cols = fields.map((f) => `CASE WHEN ${sendable} THEN ${readableColumn(f, schema.fields.get(f)!)} END AS ${q("f_" + f)}`);
  const shared = !ordered && t.kind !== "member_date" && !eventProps && !/\bo\.(day|now)\b/.test(where) && occs.length > 1;
  const sql = `CREATE OR REPLACE TEMP TABLE ${table} AS
    SELECT ${shared ? "CAST(-1 AS INTEGER)" : "o.occ"} AS occ, CAST(m.rowid AS INTEGER) AS rid, ${held} AS held, CAST(${chans} AS INTEGER) AS chans${memberOrder ? `, CAST(${key} AS VARCHAR) AS mkey` : ""}${cols.length ? ", " + cols.join(", ") : ""}
    FROM ${shared ? `${membersTable} m` : from}
    WHERE ${where}${ordered ? `\n    ORDER BY o.occ, ${order}` : ""}`;
  // The query (with its parameters and occurrences) over one snapshot decides the table, so it is the cache key.
  // Business events are left out: their occurrences differ from one run to the next.
  const kept = cache && !eventProps ? candidateKey(sql.replaceAll(table, "$T").replaceAll(occTable, "$O"), params, occs, cache.salt) : undefined;
  if (kept && (await cache!.store.take(kept, table))) return { table, fields, shared };
  await conn.run(sql, params as never);
  if (kept) await cache!.store.keep(kept, table);
  return { table, fields, shared };
}

function candidateKey(sql: string, params: unknown[], occs: Occurrence[], salt: string): string | undefined {
  try {
    const described = JSON.stringify({ sql, params, occs: occs.map((o) => [o.date, o.time]), salt });
    return "c" + createHash("sha256").update(described).digest("hex").slice(0, 32);
  } catch {
    return undefined; // a parameter JSON cannot write (a bigint): no cache
  }
}

/**
 * The occurrence table of business events: occ, day, now, the event's member and one typed column per property
 * (`ev_<name>`). Values come from outside: each is a quoted, escaped literal (or a finite number), cast to its type.
 * Literals rather than bound parameters: DuckDB binds thousands of parameters far slower than it parses values.
 */
async function createEventOccurrences(conn: DuckDBConnection, table: string, occs: Occurrence[], props: [string, FieldType][]): Promise<void> {
  const cols = props.map(([n, t]) => `${q("ev_" + n)} ${sqlType(t)}`);
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${table} (occ INTEGER, day DATE, now TIMESTAMP, member VARCHAR${cols.map((c) => ", " + c).join("")})`);
  const CHUNK = 5000;
  for (let i = 0; i < occs.length; i += CHUNK) {
    const rows = occs.slice(i, i + CHUNK).map((o, j) => {
      const ev = o.businessEvent;
      const values = props.map(([n, t]) => `CAST(${propLiteral(ev?.props[n], t)} AS ${sqlType(t)})`);
      return `(${i + j}, DATE '${o.date}', TIMESTAMP '${o.date} ${o.time}:00', ${ev ? literal(ev.member) : "NULL"}${values.map((v) => ", " + v).join("")})`;
    });
    await conn.run(`INSERT INTO ${table} VALUES ${rows.join(", ")}`);
  }
}

/** A property value as a SQL literal: lists are stored as `a;b` text like member list fields. */
function propLiteral(v: unknown, t: FieldType): string {
  if (v === undefined || v === null) return "NULL";
  if (t.kind === "list") return literal(listText((v as unknown[]).map(String)));
  if (t.kind === "bool") return v === true ? "TRUE" : "FALSE";
  if (t.kind === "number") return Number.isFinite(Number(v)) ? String(Number(v)) : "NULL";
  return literal(String(v));
}

/**
 * The years whose anniversaries can fire between two years' occurrences: one either side (an offset of days can
 * move a return across New Year), and as many more as the offset spans (13 months before: two years on).
 */
export function anniversaryYears(t: Extract<ResolvedCampaign["trigger"], { kind: "member_date" }>, first: number, last: number): [number, number] {
  const o = t.offset;
  const DAYS: Record<string, number> = { minute: 1 / 1440, hour: 1 / 24, day: 1, week: 7, month: 31, year: 366 };
  const extra = o ? Math.ceil((Math.trunc(o.amount) * DAYS[o.unit]!) / 365) : 0;
  return [first - 1 - extra, last + 1 + extra];
}

/**
 * The member's own date, shifted by the trigger offset, must be the occurrence day — as an equality, so DuckDB
 * joins by hash instead of testing every member against every day.
 */
export function memberDateJoin(
  t: Extract<ResolvedCampaign["trigger"], { kind: "member_date" }>,
  years: [number, number],
  days: [string, string] | undefined,
): { yearsFrom: string; on: string; where?: string } {
  const f = `CAST(m.${q(t.field)} AS DATE)`;
  // Offset applied to the member date gives the firing day: `3 days after x` fires on x + 3 days.
  // Hour and minute offsets move the firing moment (date at `time`), which may carry into another day.
  const sign = t.offset?.direction === "before" ? "-" : "+";
  const sub = t.offset && (t.offset.unit === "hour" || t.offset.unit === "minute");
  const shift = t.offset ? ` ${sign} INTERVAL ${Math.trunc(t.offset.amount)} ${t.offset.unit.toUpperCase()}` : "";
  const fires = (date: string) => (sub ? `CAST(CAST(${date} AS TIMESTAMP) + INTERVAL ${t.time} MINUTE${shift} AS DATE)` : `CAST(${date}${shift} AS DATE)`);
  if (!t.anniversary) return { yearsFrom: "", on: `${fires(f)} = o.day`, ...(days ? { where: dateWindow(t, days) } : {}) };
  // Anniversary: the yearly return of the member date (29 Feb → 28 Feb in common years), shifted by the offset,
  // for each year around the range (an offset can move it across New Year); the first anniversary is a year
  // after the date itself.
  const yr = "yy.y";
  const leap = `((${yr} % 4 = 0 AND ${yr} % 100 <> 0) OR ${yr} % 400 = 0)`;
  const anniv = `make_date(${yr}, month(${f}), CASE WHEN month(${f}) = 2 AND day(${f}) = 29 AND NOT ${leap} THEN 28 ELSE day(${f}) END)`;
  return {
    yearsFrom: ` CROSS JOIN (SELECT CAST(unnest(range(${years[0]}, ${years[1] + 1})) AS INTEGER) AS y) yy`,
    on: `${fires(anniv)} = o.day`,
    where: `${f} IS NOT NULL AND ${yr} > year(${f})`,
  };
}

/**
 * A condition the member date must meet to fire on one of `days`, with constants on one side, so that DuckDB
 * filters the member table in its scan (skipping row groups by their min and max) before the join instead of
 * computing the firing day of every member: the day moved back by the offset, widened by a few days (a
 * calendar month can move a month end by up to three days; an hour offset and the send time by one).
 */
function dateWindow(t: Extract<ResolvedCampaign["trigger"], { kind: "member_date" }>, days: [string, string]): string {
  const col = `m.${q(t.field)}`;
  const back = t.offset ? ` ${t.offset.direction === "before" ? "+" : "-"} INTERVAL ${Math.trunc(t.offset.amount)} ${t.offset.unit.toUpperCase()}` : "";
  const slack = t.offset && (t.offset.unit === "month" || t.offset.unit === "year") ? 7 : 2;
  const from = `(CAST(DATE '${days[0]}'${back} AS DATE) - ${slack})`;
  const to = `(CAST(DATE '${days[1]}'${back} AS DATE) + ${slack})`;
  return t.fieldType === "date" ? `${col} BETWEEN ${from} AND ${to}` : `${col} >= CAST(${from} AS TIMESTAMP) AND ${col} < CAST(${to} + 1 AS TIMESTAMP)`;
}
