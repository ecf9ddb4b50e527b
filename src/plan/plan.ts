/**
 * The one planner (docs/language.md, "Delivery semantics"). Phase one selects candidates in DuckDB
 * (candidates.ts); phase two walks occurrences in send-time order — same moment: higher priority first,
 * then campaign name — and decides each member: unreachable → repeat → policy.max → channel quota → limit →
 * budget → holdout → send. The holdout is drawn last, from exactly the members who would be sent, so that the
 * control group is comparable with the treated one; a held-out member uses up no cap, quota, limit or budget
 * (only `repeat`, the campaign's own rhythm, counts the decision). `audience = holdout + unreachable + capped +
 * sends` by construction.
 */
import type { ResolvedCampaign } from "../resolved/types.js";
import type { Occurrence } from "../calendar/types.js";
import { expandOccurrences } from "../calendar/occurrences.js";
import { epochToZoned, zonedToEpoch } from "../calendar/time.js";
import type { Template } from "../content/types.js";
import type { Project } from "../project/types.js";
import type { DuckDBDataChunk } from "@duckdb/node-api";
import { buildCandidates } from "./candidates.js";
import { ident as q } from "../members/sql.js";
import { loadSuppressed } from "./suppressed.js";
import { contentKindOf, renderedFields, sectionKeyOf, renderFor, renderSends, SendLog, unitPrice, type RenderResult } from "./content.js";
import { COMPACT_UNTIL, LastSends, periodClock, RuleSet } from "./caps.js";
import { CAPPED_REASONS, cappedReason, RuleChain } from "./rules.js";
import { RenderPool } from "./render-pool.js";
import { deferSendTime } from "./defer.js";
import { SenderMessageTally, senderFieldsOf } from "./sender-messages.js";
import type { BusinessEvent, ContentProblemCount, Funnel, MemberDecision, Plan, PlanInput, PlannedOccurrence, SkipReason } from "./types.js";

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

const DURATION_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000 };

/** t + duration, calendar-correct for months and years in the project timezone. */
export function addDuration(t: number, d: { amount: number; unit: string }, tz: string): number {
  const fixed = DURATION_MS[d.unit];
  if (fixed) return t + d.amount * fixed;
  const z = epochToZoned(t, tz);
  const [y, m, day] = z.date.split("-").map(Number) as [number, number, number];
  const months = d.unit === "year" ? d.amount * 12 : d.amount;
  const total = y * 12 + (m - 1) + months;
  const ny = Math.floor(total / 12);
  const nm = (total % 12) + 1;
  const last = new Date(Date.UTC(ny, nm, 0)).getUTCDate();
  const date = `${String(ny).padStart(4, "0")}-${String(nm).padStart(2, "0")}-${String(Math.min(day, last)).padStart(2, "0")}`;
  return zonedToEpoch(date, z.minutes, tz);
}

/** The occurrence id of a business event: its identity, so that no event's send key is another's. */
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
function scheduleOccurrences(input: PlanInput): { perCampaign: Occurrence[][]; work: OccWork[] } {
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

/** The channel of a held-out member's row in the ledger and in history: no channel, nothing sent. */
export const HELD_OUT_CHANNEL = "-";

interface OccWork {
  campaignIndex: number;
  occIndex: number;
  occurrence: Occurrence;
  sendAt: number;
}

export async function plan(input: PlanInput): Promise<Plan> {
  const { project, campaigns, templates, members } = input;
  const conn = members.conn;
  const tz = project.timezone;
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
  const fieldLists = campaigns.map((c) => fieldsFor(c, project, templates));
  const tables: string[] = [];
  const shared: boolean[] = [];
  // Campaigns whose member decisions are kept (all with memberRows).
  const rowsOf = campaigns.map(() => !!input.memberRows);
  // Sends per sender and message (WeCom tasks per staff member): per channel, the sender field, where counted.
  const tally = input.senderMessagesFor?.size ? new SenderMessageTally() : undefined;
  const senders = campaigns.map((c) => (input.senderMessagesFor?.has(c.name) ? senderFieldsOf(c, project) : undefined));
  const suppressedMembers = input.suppressed?.length ? await loadSuppressed(conn, project, members.table, input.suppressed) : 0;
  const anySuppressed = suppressedMembers > 0;
  for (let ci = 0; ci < campaigns.length; ci++) {
    if (!perCampaign[ci]!.length) {
      tables.push("");
      shared.push(false);
      continue;
    }
    // Field values are carried in the candidates: all of them where the walk renders inline, otherwise those
    // renderSends reads to tell distinct messages apart (a join of the sends with ten million members costs more).
    const inlineRender = rowsOf[ci]! || campaigns[ci]!.budget !== undefined;
    const carry = inlineRender
      ? fieldLists[ci]!
      : render
        ? renderedFields(campaigns[ci]!, fieldLists[ci]!, templates, project, senders[ci]).map((f) => f.field)
        : [];
    const cq = await buildCandidates(conn, ci, campaigns[ci]!, perCampaign[ci]!, project, input.exclude, members.table, carry, rowsOf[ci]!, anySuppressed);
    tables.push(cq.table);
    shared.push(cq.shared);
    if (process.env.CHUDA_TIMING) lap(`candidates:${campaigns[ci]!.name}`);
  }

  lap("candidates");
  // Plain simulation renders after the walk, once per distinct message (see renderSends): the walk itself
  // then reads only integers back from DuckDB. Campaigns with a budget need each send's cost in order, and
  // member rows need the content, so those render inline.
  const inline = campaigns.map((c, ci) => rowsOf[ci]! || c.budget !== undefined);
  const settled = await settledCounts(
    conn,
    tables,
    inline,
    shared,
    perCampaign.map((o) => o.length),
  );
  lap("walk:settled");

  // Phase two: sequential decisions with per-member state in typed arrays.
  const sizeRow = await conn.runAndReadAll(`SELECT COALESCE(MAX(rowid), -1) + 1 AS n FROM ${members.table}`);
  const size = Number(sizeRow.getRows()[0]![0] ?? 0);
  const clock = periodClock(tz);
  // 32-bit state unless the plan (or an earlier send) reaches the next century.
  const wide = Date.parse(input.to) >= COMPACT_UNTIL || (input.history ?? []).some((h) => h.at >= COMPACT_UNTIL);
  const global = new RuleSet(project.policy.max, size, clock, wide);
  const channelNames = [...project.channels.keys()];
  const quotas = new Map(channelNames.map((ch) => [ch, new RuleSet(project.channels.get(ch)!.quota, size, clock, wide)]));
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
  const reached = new Uint8Array(size);
  if (input.history?.length) await seedHistory(input, size, global, quotas, lastSend);
  const committedRows = input.committed?.size ? await committedRowsOf(input, work) : undefined;
  const kept = input.committed && input.memberRows ? new Set<string>() : undefined;
  lap("walk:state");

  // Rendering: one cache per campaign (content does not depend on the occurrence), keyed by the values of
  // the member fields the channel's template section reads, so a distinct message is rendered once.
  const renderCaches = campaigns.map(() => new Map<string, RenderResult>());
  const keyColumns = campaigns.map((c, ci) => {
    const t = templates.get(c.template);
    return c.channels.map((ch) => {
      const kind = sectionKeyOf(t, project, ch);
      const names = new Set((t?.variables ?? []).filter((v) => v.kind === kind).map((v) => v.name));
      return fieldLists[ci]!.flatMap((f, j) => (names.has(f) ? [j] : []));
    });
  });
  const sendLog = campaigns.map(() => new SendLog());
  const sendCount = campaigns.map(() => 0);
  const sendable: (Awaited<ReturnType<typeof readSendable>> | undefined)[] = [];
  for (let ci = 0; ci < tables.length; ci++)
    if (settled[ci])
      sendable[ci] = shared[ci]
        ? await readSendable(conn, tables[ci]!, 1, settled[ci]!.get(0)?.sendable ?? 0, false, true)
        : await readSendable(conn, tables[ci]!, perCampaign[ci]!.length, sumSendable(settled[ci]!), !!campaigns[ci]!.limit);
  // Business-event campaigns have one small occurrence per event: their candidates are read in one query and
  // bucketed by occurrence, instead of one query per occurrence in the walk.
  const byOcc: (Map<number, CandidateBatch> | undefined)[] = [];
  for (let ci = 0; ci < tables.length; ci++)
    if (!sendable[ci] && tables[ci] && campaigns[ci]!.trigger.kind === "business_event")
      byOcc[ci] = await readByOccurrence(conn, tables[ci]!, rowsOf[ci]!, inline[ci]! ? fieldLists[ci]! : []);
  lap("walk:read");
  input.onWalk?.();
  const occurrences: PlannedOccurrence[] = [];
  const byWork = new Map<string, PlannedOccurrence>();
  const decisions: MemberDecision[] = [];
  let done = 0;
  for (const w of work) {
    const campaign = campaigns[w.campaignIndex]!;
    const funnel: Funnel = { audience: 0, holdout: 0, unreachable: 0, capped: 0, sends: 0, deferred: 0, byChannel: {}, cappedBy: {}, cost: 0 };
    const problems = new Map<string, ContentProblemCount>();
    const deferred = w.sendAt !== w.occurrence.at;
    const renderCache = renderCaches[w.campaignIndex]!;
    const keyCols = keyColumns[w.campaignIndex]!;
    const fields = fieldLists[w.campaignIndex]!;
    const senderCols = senders[w.campaignIndex]?.map((f) => (f === undefined ? -1 : fields.indexOf(f)));
    const template = templates.get(campaign.template);
    const channelConfigs = campaign.channels.map((ch) => project.channels.get(ch)!);
    const channelQuotas = campaign.channels.map((ch) => quotas.get(ch)!);
    const repeatArr = lastSend[w.campaignIndex];
    const sentOn = campaign.channels.map(() => 0);
    // Members an earlier run planned in this occurrence: left as they are, and their places count against `limit`.
    // (Counted from the ledger: a member who has left the snapshot since keeps their place too.)
    const skipRows = committedRows?.get(`${w.campaignIndex}|${w.occIndex}`);
    const committedHere = input.committed?.get(`${campaign.name}|${w.occurrence.id}`);
    if (committedHere) funnel.plannedBefore = 0;
    const limitTaken = committedHere?.size ?? 0;
    const spentBefore = input.spent?.get(`${campaign.name}|${w.occurrence.id}`) ?? 0;
    const chain = new RuleChain(
      global,
      channelQuotas,
      repeatArr,
      repeatArr ? (last: number) => repeatAllows(campaign, last, w.sendAt, tz) : undefined,
      campaign.limit ? Math.max(0, campaign.limit.count - limitTaken) : Infinity,
      campaign.budget ?? Infinity,
      spentBefore,
    );

    const skip = (reason: SkipReason) => {
      funnel.capped += reason.startsWith("capped") ? 1 : 0;
      funnel.cappedBy[reason] = (funnel.cappedBy[reason] ?? 0) + 1;
    };

    // Strings are the costly part of reading rows back: member keys only when member rows are kept, field
    // values only when rendering inline. Without member rows, held-out and unreachable members are counted
    // in DuckDB and never read back (they touch no cap), and the sendable ones were read up front.
    const wantFields = inline[w.campaignIndex]!;
    const pre = settled[w.campaignIndex]?.get(w.occIndex);
    if (pre) {
      funnel.audience += pre.unreachable;
      funnel.unreachable += pre.unreachable;
    }
    const ready = sendable[w.campaignIndex];
    if (ready) {
      // Only sendable members, no strings, nothing rendered inline: the tight loop of walkSendable.
      const { rid, chans, held } = ready.slice(w.occIndex);
      const c = walkSendable(rid, chans, held, w.sendAt, chain, channelQuotas.length, reached, sendLog[w.campaignIndex]!, w.occIndex, skipRows);
      funnel.audience += rid.length - c.kept;
      funnel.holdout += c.heldOut;
      if (committedHere) funnel.plannedBefore! += c.kept;
      funnel.sends += c.sends;
      if (deferred) funnel.deferred += c.sends;
      sendCount[w.campaignIndex]! += c.sends;
      c.sentOn.forEach((n, j) => (sentOn[j]! += n));
      for (const [reason, n] of c.capped)
        if (n) {
          funnel.capped += n;
          funnel.cappedBy[reason] = (funnel.cappedBy[reason] ?? 0) + n;
        }
    }
    const read = byOcc[w.campaignIndex];
    const batches = ready
      ? []
      : read
        ? [read.get(w.occIndex)].filter((b) => b !== undefined)
        : streamCandidates(conn, tables[w.campaignIndex]!, w.occIndex, rowsOf[w.campaignIndex]!, wantFields ? fields : []);
    for await (const batch of batches) {
      const { rid, held, chans, mkeys, fieldCols, rows } = batch;
      for (let r = 0; r < rows; r++) {
        const row = rid[r]!;
        if (skipRows !== undefined && !held?.[r] && chans[r] && skipRows.has(row)) {
          funnel.plannedBefore!++;
          // Still sendable, on the channels that reach the member now (a consent withdrawn since is not).
          if (kept)
            for (let j = 0; j < campaign.channels.length; j++)
              if (chans[r]! & (1 << j)) kept.add(`${campaign.name}|${w.occurrence.id}|${mkeys[r]}|${campaign.channels[j]}`);
          if (!wantFields) sendLog[w.campaignIndex]!.push(w.occIndex, row, -1);
          continue;
        }
        funnel.audience++;
        let reason: SkipReason | undefined;
        let chosen = -1;
        if (!chans[r]) reason = "unreachable";
        else {
          chosen = chain.choose(row, chans[r]!, w.sendAt);
          if (chosen < 0) reason = cappedReason(chosen);
        }
        let vars: Record<string, unknown> | undefined;
        let rendered: RenderResult | undefined;
        if (!reason && chosen >= 0) {
          const channel = campaign.channels[chosen]!;
          if (wantFields) {
            let key = String(chosen);
            for (const j of keyCols[chosen]!) key += "\u0001" + String(fieldCols[j]![r] ?? "\u0002");
            rendered = renderCache.get(key);
            if (!rendered || rowsOf[w.campaignIndex]) {
              vars = { ...campaign.with };
              for (let j = 0; j < fields.length; j++) {
                const v = fieldCols[j]![r];
                if (v !== null && v !== undefined) vars[fields[j]!] = v;
              }
            }
            if (!rendered) {
              rendered = renderFor(template, project, channel, vars!);
              if (renderCache.size > 200_000) renderCache.clear();
              renderCache.set(key, rendered);
            }
          }
          const cost = wantFields ? (rendered?.cost ?? unitPrice(project, channel)) : 0;
          if (!chain.affordable(cost)) reason = "capped:budget";
          else if (held[r]) {
            // Would be sent: held out instead. Nothing is sent, so no cap, quota, limit or budget is used up.
            reason = "held_out";
            chain.hold(row, w.sendAt);
          } else {
            funnel.sends++;
            sentOn[chosen]!++;
            funnel.cost += cost;
            if (deferred) funnel.deferred++;
            chain.send(row, chosen, w.sendAt, cost);
            reached[row] = 1;
            if (senderCols && senderCols[chosen]! >= 0 && rendered?.content)
              tally!.addContent(campaign.name, channel, String(fieldCols[senderCols[chosen]!]![r] ?? ""), w.occurrence.id, rendered.content);
            // Only the exceptions are logged: a send on the member's first reachable channel is derived in SQL.
            if (!wantFields && (chans[r]! & ((1 << chosen) - 1)) !== 0) sendLog[w.campaignIndex]!.push(w.occIndex, row, chosen);
            if (!wantFields) sendCount[w.campaignIndex]!++;
            if (rendered?.problems.length)
              for (const p of rendered.problems) {
                const k = `${channel}|${p.rule}|${p.field}`;
                const e = problems.get(k);
                if (e) e.members++;
                else problems.set(k, { channel, ...p, members: 1 });
              }
          }
        }
        if (reason === "held_out") funnel.holdout++;
        else if (reason === "unreachable") funnel.unreachable++;
        else if (reason) {
          skip(reason);
          if (!wantFields) sendLog[w.campaignIndex]!.push(w.occIndex, row, -1);
        }
        if (rowsOf[w.campaignIndex] && (input.onlyMember === undefined || mkeys[r] === input.onlyMember)) {
          const d: MemberDecision = { campaign: campaign.name, occurrence: w.occurrence.id, member: mkeys[r]!, sendAt: w.sendAt };
          if (reason) d.reason = reason;
          else {
            const channel = campaign.channels[chosen]!;
            const cfg = channelConfigs[chosen]!;
            d.channel = channel;
            d.address = String(vars?.[cfg.address] ?? "");
            if (cfg.sender) d.sender = String(vars?.[cfg.sender] ?? "");
            d.fallbacks = campaign.channels.filter((_, j) => j > chosen && chans[r]! & (1 << j));
            if (rendered?.content) d.content = rendered.content;
            const errors = rendered?.problems.filter((x) => x.severity === "error").map((x) => `${x.field}: ${x.message}`);
            if (errors?.length) d.contentErrors = errors;
            d.vars = vars;
          }
          decisions.push(d);
        }
      }
    }
    campaign.channels.forEach((ch, j) => {
      if (sentOn[j]) funnel.byChannel[ch] = sentOn[j]!;
    });
    const po: PlannedOccurrence = { campaign, occurrence: w.occurrence, sendAt: w.sendAt, deferred, funnel, problems: [...problems.values()] };
    occurrences.push(po);
    byWork.set(`${w.campaignIndex}|${w.occIndex}`, po);
    input.onProgress?.(++done, work.length);
  }
  lap("walk");
  let pool: RenderPool | undefined;
  let poolTried = false;
  const workers = () => {
    if (!poolTried) pool = RenderPool.create();
    poolTried = true;
    return pool;
  };
  const toRender = campaigns.flatMap((_, ci) => (inline[ci] || !sendCount[ci] ? [] : [ci]));
  if (toRender.length) input.onRenderProgress?.(0, toRender.length);
  try {
    for (const [k, ci] of toRender.entries()) {
      // A shared table's rows stand for every occurrence: the sends are derived from them once per occurrence.
      const candidates = shared[ci] ? `(SELECT o.occ, c.* EXCLUDE (occ) FROM ${tables[ci]} c CROSS JOIN occ_${ci} o)` : tables[ci]!;
      const counted = senders[ci] ? { fields: senders[ci], tally: tally! } : undefined;
      await renderSends(conn, ci, candidates, sendLog[ci]!, campaigns[ci]!, fieldLists[ci]!, templates, project, render, byWork, workers, counted);
      input.onRenderProgress?.(k + 1, toRender.length);
    }
  } finally {
    await pool?.close();
  }
  for (const po of occurrences) po.funnel.cost = Math.round(po.funnel.cost * 1e6) / 1e6;
  lap("render");
  for (const t of tables) if (t) await conn.run(`DROP TABLE IF EXISTS ${t}`);
  let membersReached = 0;
  for (let i = 0; i < size; i++) membersReached += reached[i]!;
  const result: Plan = { from: input.from, to: input.to, occurrences, decisions, membersReached, timings };
  if (kept) result.kept = kept;
  if (input.suppressed) result.suppressed = suppressedMembers;
  if (tally) result.senderMessages = tally.result();
  return result;
}

/** One batch of an occurrence's candidates, as the walk reads them. */
interface CandidateBatch {
  rows: number;
  rid: ArrayLike<number>;
  held: ArrayLike<boolean>;
  chans: ArrayLike<number>;
  mkeys: ArrayLike<string | null>;
  fieldCols: ArrayLike<unknown>[];
}

/** An occurrence's candidates with member keys and field values, streamed from DuckDB in chunks. */
async function* streamCandidates(
  conn: PlanInput["members"]["conn"],
  table: string,
  occ: number,
  memberKeys: boolean,
  fields: string[],
): AsyncGenerator<CandidateBatch> {
  const cols = ["rid", "held", "chans", memberKeys ? "mkey" : "NULL", ...fields.map((f) => q("f_" + f))];
  const result = await conn.stream(`SELECT ${cols.join(", ")} FROM ${table} WHERE occ = ${occ}`);
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) return;
    yield {
      rows: chunk.rowCount,
      rid: chunk.getColumnValues(0) as number[],
      held: chunk.getColumnValues(1) as boolean[],
      chans: chunk.getColumnValues(2) as number[],
      mkeys: chunk.getColumnValues(3) as string[],
      fieldCols: fields.map((_, j) => chunk.getColumnValues(4 + j) as unknown[]),
    };
  }
}

/** Every candidate row of a campaign, bucketed by occurrence (for campaigns with many small occurrences). */
async function readByOccurrence(
  conn: PlanInput["members"]["conn"],
  table: string,
  memberKeys: boolean,
  fields: string[],
): Promise<Map<number, CandidateBatch>> {
  const cols = ["occ", "rid", "held", "chans", memberKeys ? "mkey" : "NULL", ...fields.map((f) => q("f_" + f))];
  const rows = (await conn.runAndReadAll(`SELECT ${cols.join(", ")} FROM ${table} ORDER BY occ`)).getRows();
  type Growing = { rows: number; rid: number[]; held: boolean[]; chans: number[]; mkeys: (string | null)[]; fieldCols: unknown[][] };
  const out = new Map<number, Growing>();
  for (const r of rows) {
    const occ = Number(r[0]);
    let b = out.get(occ);
    if (!b) out.set(occ, (b = { rows: 0, rid: [], held: [], chans: [], mkeys: [], fieldCols: fields.map(() => []) }));
    b.rid.push(Number(r[1]));
    b.held.push(r[2] as boolean);
    b.chans.push(Number(r[3]));
    b.mkeys.push(r[4] as string | null);
    fields.forEach((_, j) => b.fieldCols[j]!.push(r[5 + j]));
    b.rows++;
  }
  return out;
}

/**
 * A campaign's sendable candidates (some channel reachable; held out or not, since the holdout is drawn from those
 * the walk would send) for all its occurrences, read in one scan into typed arrays straight from DuckDB's
 * vectors: the walk then never waits on a query.
 */
async function readSendable(
  conn: PlanInput["members"]["conn"],
  table: string,
  occCount: number,
  total: number,
  orderMatters: boolean,
  everyOccurrence = false,
) {
  // Sized once from the count (fresh memory costs a page fault a page; doubling would touch twice as much).
  let rid = new Int32Array(Math.max(total, 1));
  let chans = new Int32Array(Math.max(total, 1));
  let held = new Uint8Array(Math.max(total, 1));
  let sorted = true;
  let lastOcc = 0;
  const start = new Int32Array(occCount + 1);
  let n = 0;
  // Where order inside an occurrence is free, members come in row order: the walk then reads and writes the
  // per-member state arrays in ascending order (memory access, not arithmetic, is what the walk spends its
  // time on). Otherwise the table is already in occurrence, then limit, order.
  // A shared table (occ = -1) is read as the one occurrence 0 that every occurrence's slice returns.
  const result = await conn.stream(
    `SELECT ${everyOccurrence ? "0" : "occ"} AS occ, rid, chans, CAST(held AS UTINYINT) AS held FROM ${table} WHERE chans <> 0${orderMatters ? "" : " ORDER BY occ, rid"}`,
  );
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const rows = chunk.rowCount;
    if (n + rows > rid.length) {
      const size = Math.max(rid.length * 2, n + rows);
      const r2 = new Int32Array(size);
      r2.set(rid.subarray(0, n));
      rid = r2;
      const c2 = new Int32Array(size);
      c2.set(chans.subarray(0, n));
      chans = c2;
      const h2 = new Uint8Array(size);
      h2.set(held.subarray(0, n));
      held = h2;
    }
    const occV = int32Column(chunk, 0);
    rid.set(int32Column(chunk, 1), n);
    chans.set(int32Column(chunk, 2), n);
    held.set(uint8Column(chunk, 3), n);
    for (let r = 0; r < rows; r++) {
      const o = occV[r]!;
      if (o < lastOcc) sorted = false;
      lastOcc = o;
      start[o + 1]!++;
    }
    n += rows;
  }
  for (let o = 0; o < occCount; o++) start[o + 1]! += start[o]!;
  if (!sorted) throw new Error(`internal: candidates of ${table} are not in occurrence order`);
  return {
    slice(occ: number): { rid: Int32Array; chans: Int32Array; held: Uint8Array } {
      const o = everyOccurrence ? 0 : occ;
      return { rid: rid.subarray(start[o]!, start[o + 1]!), chans: chans.subarray(start[o]!, start[o + 1]!), held: held.subarray(start[o]!, start[o + 1]!) };
    },
  };
}

/**
 * The walk's decisions for one occurrence's sendable members (some channel reachable) when nothing is rendered
 * inline and no member rows are kept: the rule chain of the general loop in `plan` (repeat → policy.max → channel
 * quota → limit → holdout → send; no budget, which is priced inline) over typed arrays alone, in one small function
 * the engine keeps optimized. Sends on a channel other than the member's first reachable one, and capped members
 * (channel -1), go to the log; the rest are derived in SQL (which leaves held-out members out).
 */
function walkSendable(
  rid: Int32Array,
  chans: Int32Array,
  held: Uint8Array,
  at: number,
  chain: RuleChain,
  channels: number,
  reached: Uint8Array,
  log: SendLog,
  occ: number,
  skipRows?: Set<number>,
): { sends: number; heldOut: number; sentOn: number[]; capped: [SkipReason, number][]; kept: number } {
  const sentOn = new Array<number>(channels).fill(0);
  // Members capped, by refusal code of `choose` (-1 → 0 …).
  const capped = [0, 0, 0, 0, 0];
  let sends = 0;
  let heldOut = 0;
  let kept = 0;
  for (let r = 0; r < rid.length; r++) {
    const row = rid[r]!;
    const c = chans[r]!;
    if (skipRows !== undefined && !held[r] && skipRows.has(row)) {
      kept++;
      log.push(occ, row, -1);
      continue;
    }
    const chosen = chain.choose(row, c, at);
    if (chosen < 0) {
      capped[-chosen - 1]!++;
      log.push(occ, row, -1);
      continue;
    }
    if (held[r]) {
      // Would be sent: held out instead, using up no cap, quota or limit; `repeat` counts the decision.
      heldOut++;
      chain.hold(row, at);
      continue;
    }
    sends++;
    sentOn[chosen]!++;
    chain.send(row, chosen, at, 0);
    reached[row] = 1;
    if ((c & ((1 << chosen) - 1)) !== 0) log.push(occ, row, chosen);
  }
  return { sends, heldOut, sentOn, capped: CAPPED_REASONS.map((reason, i) => [reason, capped[i]!]), kept };
}

/**
 * An INTEGER column of a chunk without NULLs as an Int32Array: the vector's own typed view when the library
 * exposes one at run time (not in its types), else its values.
 */
function int32Column(chunk: DuckDBDataChunk, column: number): ArrayLike<number> {
  const items = (chunk.getColumnVector(column) as unknown as { items?: unknown }).items;
  return items instanceof Int32Array && items.length === chunk.rowCount ? items : (chunk.getColumnValues(column) as number[]);
}

/** A UTINYINT column of a chunk without NULLs, the same way as int32Column. */
function uint8Column(chunk: DuckDBDataChunk, column: number): ArrayLike<number> {
  const items = (chunk.getColumnVector(column) as unknown as { items?: unknown }).items;
  return items instanceof Uint8Array && items.length === chunk.rowCount ? items : (chunk.getColumnValues(column) as number[]);
}

function repeatAllows(campaign: ResolvedCampaign, last: number, at: number, tz: string): boolean {
  if (last === 0) return true;
  if (campaign.repeat.kind === "never") return false;
  if (campaign.repeat.kind === "after") return at >= addDuration(last, campaign.repeat.duration, tz);
  return true;
}

/**
 * Earlier sends (from the ledger) count against caps, quotas and repeat, matched to member rows in DuckDB. An
 * earlier holdout decision (channel `-`) counts for the campaign's repeat only: nothing was sent.
 */
async function seedHistory(input: PlanInput, size: number, global: RuleSet, quotas: Map<string, RuleSet>, lastSend: (LastSends | undefined)[]) {
  const { conn, table } = input.members;
  const key = q(input.project.members.key);
  await conn.run(`CREATE OR REPLACE TEMP TABLE plan_history (member VARCHAR, campaign VARCHAR, channel VARCHAR, sent_at DOUBLE)`);
  const appender = await conn.createAppender("plan_history");
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
  const appender = await conn.createAppender("plan_committed");
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

interface Settled {
  unreachable: number;
  /** Candidates the walk decides: some channel reachable (the holdout is drawn among them). */
  sendable: number;
}

function sumSendable(perOcc: Map<number, Settled>): number {
  let n = 0;
  for (const s of perOcc.values()) n += s.sendable;
  return n;
}

/**
 * Unreachable members per occurrence, counted in DuckDB (only for campaigns not rendered inline), and how many
 * the walk will decide.
 */
async function settledCounts(conn: PlanInput["members"]["conn"], tables: string[], inline: boolean[], shared: boolean[], occCounts: number[]) {
  const out: (Map<number, Settled> | undefined)[] = [];
  for (let ci = 0; ci < tables.length; ci++) {
    if (!tables[ci] || inline[ci]) {
      out.push(undefined);
      continue;
    }
    const r = await conn.runAndReadAll(
      `SELECT occ, CAST(count(*) FILTER (WHERE chans = 0) AS INTEGER), CAST(count(*) FILTER (WHERE chans <> 0) AS INTEGER) FROM ${tables[ci]} GROUP BY occ`,
    );
    const counts = new Map((r.getRows() as [number, number, number][]).map(([occ, unreachable, sendable]) => [occ, { unreachable, sendable }]));
    // A shared table's counts (occ = -1) hold for every occurrence.
    const every = counts.get(-1);
    out.push(shared[ci] ? new Map(every ? Array.from({ length: occCounts[ci]! }, (_, o) => [o, every] as const) : []) : counts);
  }
  return out;
}

export { contentKindOf };
