/**
 * What the planner needs of content: which template section a channel reads, the cost of a rendered message
 * (per message, or per SMS segment), and the cost and content rules of a whole campaign's sends, rendering
 * each distinct message once.
 */
import type { ResolvedCampaign } from "../resolved/types.js";
import type { RenderedContent, Template } from "../content/types.js";
import { renderContent, smsSegments } from "../content/index.js";
import { shapeSafeVariables, shapeSql } from "../content/shape.js";
import { BUILTIN_DRIVERS, DRIVER_CONTENT_KIND, type BuiltinDriver, type ContentKind, type Project } from "../project/types.js";
import { ident as q } from "../members/sql.js";
import { POOL_MIN_MESSAGES, type RenderPool } from "./render-pool.js";
import type { PlanInput, PlannedOccurrence } from "./types.js";
import type { SenderMessageTally } from "./sender-messages.js";
import { chunksOf } from "./read.js";

export function contentKindOf(project: Project, channel: string): ContentKind | undefined {
  return driverContentKind(project.channels.get(channel)?.driver);
}

/**
 * The template section a channel reads: the channel's own (a top-level key named after it) when the template has
 * one of the channel's kind, else its driver kind's; undefined for a driver without a known kind.
 */
export function sectionKeyOf(template: Template | undefined, project: Project, channel: string): string | undefined {
  const kind = contentKindOf(project, channel);
  return kind && template?.sections.get(channel)?.kind === kind ? channel : kind;
}

function driverContentKind(driver: string | undefined): ContentKind | undefined {
  return driver && (BUILTIN_DRIVERS as readonly string[]).includes(driver) ? DRIVER_CONTENT_KIND[driver as BuiltinDriver] : undefined;
}

/** What a rendered message costs: the channel's price, per message or per SMS segment of its text. */
export function messageCost(price: { amount: number; per: "message" | "segment" } | undefined, content: RenderedContent | undefined): number {
  if (price?.per === "segment" && content?.kind === "sms") return price.amount * smsSegments(content.sign, content.text);
  return price?.amount ?? 0;
}

/**
 * What a send recorded in the ledger cost: messageCost of its content as the ledger stored it (JSON), so that
 * `chuda report` prices a send as simulate and dispatch planned it. Content that cannot be read counts as one message.
 */
export function recordedCost(price: { amount: number; per: "message" | "segment" } | undefined, storedContent: string | null | undefined): number {
  let content: RenderedContent | undefined;
  try {
    content = storedContent ? (JSON.parse(storedContent) as RenderedContent) : undefined;
  } catch {
    content = undefined;
  }
  return messageCost(price, content ?? undefined);
}

/** A rendered message, what it costs, and the content rules it breaks. */
export interface RenderResult {
  content?: RenderedContent;
  cost: number;
  problems: { rule: string; field: string; severity: "error" | "warning"; message: string }[];
}

export function unitPrice(project: Project, channel: string): number {
  const p = project.channels.get(channel)?.price;
  return p ? p.amount : 0;
}

export function renderFor(template: Template | undefined, project: Project, channel: string, vars: Record<string, unknown>): RenderResult {
  const kind = sectionKeyOf(template, project, channel);
  const price = project.channels.get(channel)?.price;
  if (!template || !kind || !template.sections.has(kind)) return { cost: price?.amount ?? 0, problems: [] };
  const r = renderContent(template, kind, vars);
  return { content: r.content, cost: messageCost(price, r.content), problems: r.problems };
}

/** What rendering one campaign's messages needs, as plain data: it crosses to worker threads. */
export interface RenderJob {
  template: Template | undefined;
  /** The campaign's channels in order, with what rendering reads of each. */
  channels: { name: string; driver: string; price?: { amount: number; per: "message" | "segment" } }[];
  with: Record<string, unknown>;
  /** The member fields in the value columns, in order. */
  read: string[];
  render: boolean;
}

/** A distinct message whose cost differs from the plain price or that breaks a content rule. */
export interface SpecialMessage {
  tid: number;
  ch: number;
  cost: number;
  problems: RenderResult["problems"];
}

/** Renders distinct messages (values column by column) and returns the ones that are not plain. */
export function renderTuples(job: RenderJob, tids: ArrayLike<number>, chs: ArrayLike<number>, values: ArrayLike<unknown>[]): SpecialMessage[] {
  const out: SpecialMessage[] = [];
  const template = job.template;
  if (!job.render || !template) return out;
  // Per channel, once: the section it renders (none: the plain price, never special) and its price.
  const channels = job.channels.map((c) => {
    const base = driverContentKind(c.driver);
    const kind = base && template.sections.get(c.name)?.kind === base ? c.name : base;
    return { kind: kind && template.sections.has(kind) ? kind : undefined, price: c.price, plain: c.price?.amount ?? 0 };
  });
  // One variables object, refilled per message: fields never share a name with `with` (those are not read from
  // members), and a missing value reads as undefined, like an absent one, in every lookup and helper.
  const vars: Record<string, unknown> = { ...job.with };
  for (const f of job.read) vars[f] = undefined;
  for (let r = 0; r < tids.length; r++) {
    const ch = chs[r]!;
    const channel = channels[ch]!;
    if (!channel.kind) continue;
    for (let j = 0; j < job.read.length; j++) {
      const v = values[j]![r];
      vars[job.read[j]!] = v === null ? undefined : v;
    }
    const rendered = renderContent(template, channel.kind, vars);
    const cost = messageCost(channel.price, rendered.content);
    if (rendered.problems.length || Math.abs(cost - channel.plain) > 1e-12) out.push({ tid: tids[r]!, ch, cost, problems: rendered.problems });
  }
  return out;
}

export /**
 * The walk's exceptions for one campaign as (occurrence, member row, channel index) triples in growable typed
 * arrays: members capped (channel -1) and members sent on a channel other than their first reachable one.
 */
class SendLog {
  private data = new Int32Array(3 * 4096);
  length = 0;
  push(occ: number, rid: number, ch: number): void {
    if (3 * (this.length + 1) > this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    const i = 3 * this.length++;
    this.data[i] = occ;
    this.data[i + 1] = rid;
    this.data[i + 2] = ch;
  }
  at(i: number): [number, number, number] {
    return [this.data[3 * i]!, this.data[3 * i + 1]!, this.data[3 * i + 2]!];
  }
}

/**
 * The member fields a campaign's rendering reads, each with the channels (indexes into the campaign's) whose
 * template section uses it: messages that differ only in a field another channel's section reads are one message.
 */
export function renderedFields(
  campaign: ResolvedCampaign,
  fields: string[],
  templates: Map<string, Template>,
  project: Project,
  /** Per channel, a sender field read as if its section read it (sends are told apart by sender too). */
  senders?: readonly (string | undefined)[],
): { field: string; channels: number[] }[] {
  const template = templates.get(campaign.template);
  if (!template) return [];
  const kinds = campaign.channels.map((ch) => sectionKeyOf(template, project, ch));
  return fields
    .map((field) => ({
      field,
      channels: campaign.channels.flatMap((_, j) =>
        template.variables.some((v) => v.name === field && v.kind === kinds[j]) || senders?.[j] === field ? [j] : [],
      ),
    }))
    .filter((f) => f.channels.length > 0);
}

export /**
 * Cost and content rules of a campaign's sends, rendering each distinct message once. The plain price of every
 * send comes from the walk's counts per occurrence and channel; the distinct messages (channel and the values of
 * the fields its section reads, carried in the candidates as `f_<field>`) come from the sends, derived in DuckDB
 * from the candidates and the walk's exceptions; only messages that break a rule or cost other than the plain
 * price (an SMS of several segments) are matched back to their sends, on their channels only, to be counted per
 * occurrence.
 */
async function renderSends(
  conn: PlanInput["members"]["conn"],
  ci: number,
  candidates: string,
  log: SendLog,
  campaign: ResolvedCampaign,
  fields: string[],
  templates: Map<string, Template>,
  project: Project,
  render: boolean,
  byWork: Map<string, PlannedOccurrence>,
  /** Worker threads for rendering, started on first use. */
  pool?: () => RenderPool | undefined,
  /** Sends to count per sender and message (WeCom tasks). */
  counted?: SenderCount,
) {
  // The plain price of every send, from the walk's counts.
  for (const [key, po] of byWork) {
    if (!key.startsWith(`${ci}|`)) continue;
    for (const [ch, n] of Object.entries(po.funnel.byChannel)) po.funnel.cost += unitPrice(project, ch) * n;
  }
  const template = templates.get(campaign.template);
  const readSpec = render ? renderedFields(campaign, fields, templates, project, counted?.fields) : [];
  if (!render || !template) return;
  const exceptions = `plan_exceptions_${ci}`;
  await appendRows(conn, exceptions, "occ INTEGER, rid INTEGER, ch INTEGER", log.length, (i) => log.at(i));
  const sends = messageSql(campaign, candidates, exceptions, readSpec);
  // The sends counted per occurrence and message values, in one pass: every later step reads this table.
  const grouped = `plan_sends_${ci}`;
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE ${grouped} AS SELECT occ, ch${sends.vcols.map((v) => `, ${v}`).join("")}, CAST(count(*) AS INTEGER) AS n FROM (${sends.withValues()}) GROUP BY ALL`,
  );
  const groupedSql = { ...sends, withValues: (where = "") => `SELECT * FROM ${grouped} ${where}` };
  const tables = await distinctMessages(conn, ci, campaign, template, project, groupedSql, readSpec);
  const job: RenderJob = {
    template,
    channels: campaign.channels.map((name) => {
      const c = project.channels.get(name);
      return { name, driver: c?.driver ?? "", ...(c?.price ? { price: c.price } : {}) };
    }),
    with: campaign.with,
    read: tables.read,
    render,
  };
  const specials = await renderMessages(conn, tables, job, pool);
  await countSpecialSends(conn, tables, specials, campaign.channels, (occ) => byWork.get(`${ci}|${occ}`)!, project);
  if (counted) await tallySenders(conn, tables.withValues, tables.read, campaign, ci, template, project, byWork, counted);
  await conn.run(tables.byShape ? `DROP TABLE ${tables.reps}` : `DROP VIEW ${tables.reps}`);
  for (const t of [exceptions, tables.tuples, grouped]) await conn.run(`DROP TABLE ${t}`);
}

/**
 * Each distinct message (`tuples`), and the one that stands for its shape (`reps`): a text field that every section
 * reading it uses only as written (src/content/shape.ts) is compared by shape, so one message is rendered for all
 * the members' values of one shape.
 */
async function distinctMessages(
  conn: PlanInput["members"]["conn"],
  ci: number,
  campaign: ResolvedCampaign,
  template: Template,
  project: Project,
  sql: ReturnType<typeof messageSql>,
  readSpec: { field: string; channels: number[] }[],
): Promise<MessageTables> {
  const kinds = campaign.channels.map((ch) => sectionKeyOf(template, project, ch));
  const shaped = readSpec.map(
    ({ field, channels }) =>
      project.members.fields.get(field)?.kind === "string" && channels.every((j) => shapeSafeVariables(template.sections.get(kinds[j]!)!).has(field)),
  );
  const { vcols } = sql;
  const tables: MessageTables = {
    ...sql,
    tuples: `plan_tuples_${ci}`,
    reps: `plan_reps_${ci}`,
    special: `plan_special_${ci}`,
    scols: vcols.map((v, j) => (shaped[j] ? `s${j}` : v)),
    byShape: shaped.some(Boolean),
  };
  const { tuples, reps } = tables;
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE ${tuples} AS SELECT CAST(row_number() OVER () AS INTEGER) AS tid, ch${vcols.map((v, j) => `, ${v}${shaped[j] ? `, ${shapeSql(v)} AS s${j}` : ""}`).join("")}
     FROM (SELECT DISTINCT ch${vcols.map((v) => `, ${v}`).join("")} FROM (${sql.withValues()}))`,
  );
  // The message rendered for each shape: its first distinct message.
  if (tables.byShape)
    await conn.run(
      `CREATE OR REPLACE TEMP TABLE ${reps} AS SELECT min(tid) AS rep, ch${tables.scols.map((c) => `, ${c}`).join("")} FROM ${tuples} GROUP BY ALL`,
    );
  else await conn.run(`CREATE OR REPLACE TEMP VIEW ${reps} AS SELECT tid AS rep, * FROM ${tuples}`);
  return tables;
}

/** Creates (or replaces) the temporary table `table` of integer `columns` and appends `count` rows of `row(i)`. */
async function appendRows(conn: PlanInput["members"]["conn"], table: string, columns: string, count: number, row: (i: number) => number[]): Promise<void> {
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${table} (${columns})`);
  const appender = await conn.createAppender(table, "main", "temp");
  for (let i = 0; i < count; i++) {
    for (const v of row(i)) appender.appendInteger(v);
    appender.endRow();
  }
  appender.closeSync();
}

/** The SQL of a campaign's sends with their messages' values (`v0` …, one per field read), and the fields read. */
function messageSql(campaign: ResolvedCampaign, candidates: string, exceptions: string, readSpec: { field: string; channels: number[] }[]) {
  const read = readSpec.map((f) => f.field);
  const vcols = read.map((_, j) => `v${j}`);
  // A send with its message's values: every sendable candidate goes out on its first reachable channel unless
  // the walk logged otherwise.
  const first = `CASE ${campaign.channels.map((_, j) => `WHEN c.chans & ${1 << j} <> 0 THEN ${j}`).join(" ")} END`;
  const carried = read.map((f) => `, c.${q("f_" + f)}`).join("");
  const valueOf = (j: number) => {
    const u = readSpec[j]!.channels;
    const col = q("f_" + read[j]!);
    return u.length === campaign.channels.length ? col : `CASE WHEN ch IN (${u.join(", ")}) THEN ${col} END`;
  };
  const withValues = (where = "") =>
    `SELECT occ, ch${vcols.map((v, j) => `, ${valueOf(j)} AS ${v}`).join("")} FROM (
       SELECT c.occ, ${first} AS ch${carried} FROM ${candidates} c ANTI JOIN ${exceptions} e ON e.occ = c.occ AND e.rid = c.rid WHERE NOT c.held AND c.chans <> 0
       UNION ALL SELECT e.occ, e.ch${carried} FROM ${exceptions} e JOIN ${candidates} c ON c.occ = e.occ AND c.rid = e.rid WHERE e.ch >= 0
     ) ${where}`;
  return { read, vcols, withValues };
}

/** A campaign's message tables: distinct messages (`tuples`), the one rendered per shape (`reps`), and their columns. */
interface MessageTables {
  tuples: string;
  reps: string;
  special: string;
  /** The values' columns, and the columns that tell shapes apart (a shaped value's shape, else the value). */
  vcols: string[];
  scols: string[];
  /** The fields read, in the order of `vcols`. */
  read: string[];
  /** Whether some value is compared by shape (`reps` is then a table, else a view of `tuples`). */
  byShape: boolean;
  /** The sends grouped by occurrence, channel and values, with their number `n` (optionally filtered by `where`). */
  withValues: (where?: string) => string;
}

/**
 * Renders one message per shape and returns those that differ from the plain case. Many distinct messages are shared
 * with worker threads (DuckDB is idle meanwhile); the main thread keeps reading chunks and renders its own share.
 */
async function renderMessages(
  conn: PlanInput["members"]["conn"],
  { tuples, reps, vcols }: MessageTables,
  job: RenderJob,
  pool: (() => RenderPool | undefined) | undefined,
): Promise<SpecialMessage[]> {
  const { render, read } = job;
  // CHUDA_RENDER_POOL=off renders on the main thread only; =always sends every batch to the workers.
  const mode = process.env.CHUDA_RENDER_POOL;
  const total = Number((await conn.runAndReadAll(`SELECT count(*) FROM ${reps}`)).getRows()[0]![0]);
  const workers = render && mode !== "off" && (mode === "always" || total >= POOL_MIN_MESSAGES) ? pool?.() : undefined;
  if (mode === "always" && render && !workers) throw new Error("CHUDA_RENDER_POOL=always, but no render worker could start");
  const jobId = workers?.start(job);
  const specials: SpecialMessage[] = [];
  const waiting: Promise<SpecialMessage[]>[] = [];
  const result = await conn.stream(`SELECT tid, ch${vcols.map((v) => `, ${v}`).join("")} FROM ${tuples} WHERE tid IN (SELECT rep FROM ${reps})`);
  for await (const chunk of chunksOf(result)) {
    const tid = chunk.getColumnValues(0) as number[];
    const ch = chunk.getColumnValues(1) as number[];
    const values = read.map((_, j) => chunk.getColumnValues(2 + j) as unknown[]);
    // The main thread also reads from DuckDB: it renders a batch itself only while the workers have a backlog.
    // A batch a worker could not render (it died) is rendered here: no message is lost to a worker. (Not with
    // `always`, which is there to test the workers.)
    if (workers && jobId !== undefined && (mode === "always" || workers.pending < 2 * workers.size))
      waiting.push(
        workers.render(jobId, tid, ch, values).catch((e: unknown) => {
          if (mode === "always") throw e;
          return renderTuples(job, tid, ch, values);
        }),
      );
    else specials.push(...renderTuples(job, tid, ch, values));
  }
  for (const s of await Promise.all(waiting)) specials.push(...s);
  if (jobId !== undefined) workers?.finish(jobId);
  return specials;
}

/**
 * Only messages that differ from the plain case need counting per occurrence: their sends, on their channels only,
 * are matched back to them, and each occurrence gets their extra cost and their problems.
 */
async function countSpecialSends(
  conn: PlanInput["members"]["conn"],
  { tuples, reps, special, vcols, scols, withValues }: MessageTables,
  specials: SpecialMessage[],
  channels: string[],
  occurrence: (occ: number) => PlannedOccurrence,
  project: Project,
): Promise<void> {
  const results = new Map<number, { cost: number; problems: RenderResult["problems"]; channel: string }>();
  for (const s of specials) results.set(s.tid, { cost: s.cost, problems: s.problems, channel: channels[s.ch]! });
  if (!results.size) return;
  const tids = [...results.keys()];
  await appendRows(conn, special, "tid INTEGER", tids.length, (i) => [tids[i]!]);
  const chans = [...new Set(specials.map((x) => x.ch))].join(", ");
  // A send → its distinct message → that message's shape → the shape's rendered message.
  const match = ["g.ch = t.ch", ...vcols.map((v) => `g.${v} IS NOT DISTINCT FROM t.${v}`)].join(" AND ");
  const sameShape = ["r.ch = t.ch", ...scols.map((c) => `r.${c} IS NOT DISTINCT FROM t.${c}`)].join(" AND ");
  const perOcc = await conn.runAndReadAll(
    `SELECT g.occ, r.rep, CAST(sum(g.n) AS INTEGER) FROM (${withValues(`WHERE ch IN (${chans})`)}) g JOIN ${tuples} t ON ${match} JOIN ${reps} r ON ${sameShape}
     WHERE r.rep IN (SELECT tid FROM ${special}) GROUP BY ALL`,
  );
  for (const [occ, tid, n] of perOcc.getRows() as [number, number, number][]) {
    const r = results.get(tid)!;
    const po = occurrence(occ);
    po.funnel.cost += (r.cost - unitPrice(project, r.channel)) * n;
    for (const p of r.problems) {
      const e = po.problems.find((x) => x.channel === r.channel && x.rule === p.rule && x.field === p.field);
      if (e) e.members += n;
      else po.problems.push({ channel: r.channel, ...p, members: n });
    }
  }
  await conn.run(`DROP TABLE ${special}`);
}

/** Sends to count per sender and identical message, with each channel's sender field (undefined: not counted). */
interface SenderCount {
  fields: readonly (string | undefined)[];
  tally: SenderMessageTally;
}

/**
 * Sends per (occurrence, channel, sender, identical message) on the channels with a sender, from the sends derived in
 * DuckDB: each distinct (channel, values read, sender) is rendered once, and equal messages are one.
 */
async function tallySenders(
  conn: PlanInput["members"]["conn"],
  withValues: (where?: string) => string,
  read: string[],
  campaign: ResolvedCampaign,
  ci: number,
  template: Template,
  project: Project,
  byWork: Map<string, PlannedOccurrence>,
  counted: SenderCount,
) {
  const chans = campaign.channels.flatMap((ch, j) => {
    const kind = sectionKeyOf(template, project, ch);
    return counted.fields[j] !== undefined && kind && template.sections.has(kind) ? [j] : [];
  });
  if (!chans.length) return;
  const vcols = read.map((_, j) => `v${j}`);
  const result = await conn.stream(
    `SELECT occ, ch${vcols.map((v) => `, ${v}`).join("")}, CAST(sum(n) AS INTEGER) FROM (${withValues(`WHERE ch IN (${chans.join(", ")})`)}) GROUP BY ALL`,
  );
  const messages = new Map<string, string>();
  for await (const chunk of chunksOf(result)) {
    const occ = chunk.getColumnValues(0) as number[];
    const ch = chunk.getColumnValues(1) as number[];
    const values = read.map((_, j) => chunk.getColumnValues(2 + j) as unknown[]);
    const sends = chunk.getColumnValues(2 + read.length) as number[];
    for (let r = 0; r < chunk.rowCount; r++) {
      const channel = campaign.channels[ch[r]!]!;
      const senderAt = read.indexOf(counted.fields[ch[r]!]!);
      let key = String(ch[r]);
      for (const v of values) key += "\u0001" + String(v[r] ?? "\u0002");
      let message = messages.get(key);
      if (message === undefined) {
        const vars: Record<string, unknown> = { ...campaign.with };
        read.forEach((f, j) => {
          const v = values[j]![r];
          if (v !== null && v !== undefined) vars[f] = v;
        });
        message = JSON.stringify(renderFor(template, project, channel, vars).content);
        messages.set(key, message);
      }
      const po = byWork.get(`${ci}|${occ[r]}`)!;
      counted.tally.add(campaign.name, channel, String(values[senderAt]![r] ?? ""), po.occurrence.id, message, sends[r]!);
    }
  }
}
