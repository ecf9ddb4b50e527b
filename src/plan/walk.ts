/**
 * Phase two of the planner: one occurrence at a time, in send-time order, each candidate member is decided by the rule
 * chain (repeat → policy.max → channel quota → limit → budget → holdout → send) against per-member state in typed
 * arrays. Plain simulation takes `walkSendable`, a tight loop over integers; member rows, budgets and inline rendering
 * take `decideRow`, member by member with field values.
 */
import type { ResolvedCampaign } from "../resolved/types.js";
import type { Template } from "../content/types.js";
import type { ChannelConfig } from "../project/types.js";
import type { LastSends, RuleSet } from "./caps.js";
import { renderFor, unitPrice, type RenderResult, type SendLog } from "./content.js";
import { addDuration } from "./duration.js";
import { CAPPED_REASONS, cappedReason, RuleChain } from "./rules.js";
import type { SenderMessageTally } from "./sender-messages.js";
import { streamCandidates, type CandidateBatch, type readSendable, type Settled } from "./read.js";
import type { ContentProblemCount, Funnel, MemberDecision, PlanInput, PlannedOccurrence, SkipReason } from "./types.js";
import type { Occurrence } from "../calendar/types.js";

/** One occurrence of one campaign, as the walk takes it. */
export interface OccWork {
  campaignIndex: number;
  occIndex: number;
  occurrence: Occurrence;
  sendAt: number;
}

/** What the walk keeps across occurrences: per campaign, its candidates and how they are read; per member, the caps. */
export interface WalkState {
  input: PlanInput;
  tables: string[];
  /** Campaigns whose member decisions are kept. */
  rowsOf: boolean[];
  /** Campaigns rendered member by member in the walk (member rows, or a budget that needs each send's price). */
  inline: boolean[];
  fieldLists: string[][];
  /** Per campaign counted per sender and message: each channel's sender field. */
  senders: ((string | undefined)[] | undefined)[];
  tally: SenderMessageTally | undefined;
  settled: (Map<number, Settled> | undefined)[];
  sendable: (Awaited<ReturnType<typeof readSendable>> | undefined)[];
  byOcc: (Map<number, CandidateBatch> | undefined)[];
  global: RuleSet;
  quotas: Map<string, RuleSet>;
  lastSend: (LastSends | undefined)[];
  /** Members with at least one send. */
  reached: Uint8Array;
  committedRows: Map<string, Set<number>> | undefined;
  kept: Set<string> | undefined;
  /** Per campaign, rendered messages keyed by the values of the fields the channel's section reads. */
  renderCaches: Map<string, RenderResult>[];
  /** Per campaign and channel, the field columns that key the render cache. */
  keyColumns: number[][][];
  sendLog: SendLog[];
  sendCount: number[];
  decisions: MemberDecision[];
}

/** One occurrence being walked member by member. */
interface OccurrenceRun {
  st: WalkState;
  w: OccWork;
  campaign: ResolvedCampaign;
  chain: RuleChain;
  funnel: Funnel;
  problems: Map<string, ContentProblemCount>;
  sentOn: number[];
  deferred: boolean;
  skipRows: Set<number> | undefined;
  wantFields: boolean;
  template: Template | undefined;
  channelConfigs: ChannelConfig[];
  senderCols: number[] | undefined;
}

/** Decides one occurrence's members; its funnel and content problems. */
export async function walkOccurrence(st: WalkState, w: OccWork): Promise<PlannedOccurrence> {
  const { input } = st;
  const { project } = input;
  const ci = w.campaignIndex;
  const campaign = input.campaigns[ci]!;
  const funnel: Funnel = { audience: 0, holdout: 0, unreachable: 0, capped: 0, sends: 0, deferred: 0, byChannel: {}, cappedBy: {}, cost: 0 };
  const channelQuotas = campaign.channels.map((ch) => st.quotas.get(ch)!);
  const repeatArr = st.lastSend[ci];
  // Members an earlier run planned in this occurrence: left as they are, and their places count against `limit`.
  // (Counted from the ledger: a member who has left the snapshot since keeps their place too.)
  const committedHere = input.committed?.get(`${campaign.name}|${w.occurrence.id}`);
  if (committedHere) funnel.plannedBefore = 0;
  const chain = new RuleChain(
    st.global,
    channelQuotas,
    repeatArr,
    repeatArr ? (last: number) => repeatAllows(campaign, last, w.sendAt, project.timezone) : undefined,
    campaign.limit ? Math.max(0, campaign.limit.count - (committedHere?.size ?? 0)) : Infinity,
    campaign.budget ?? Infinity,
    input.spent?.get(`${campaign.name}|${w.occurrence.id}`) ?? 0,
  );
  const fields = st.fieldLists[ci]!;
  const run: OccurrenceRun = {
    st,
    w,
    campaign,
    chain,
    funnel,
    problems: new Map(),
    sentOn: campaign.channels.map(() => 0),
    deferred: w.sendAt !== w.occurrence.at,
    skipRows: st.committedRows?.get(`${ci}|${w.occIndex}`),
    // Strings are the costly part of reading rows back: member keys only when member rows are kept, field values
    // only when rendering inline.
    wantFields: st.inline[ci]!,
    template: input.templates.get(campaign.template),
    channelConfigs: campaign.channels.map((ch) => project.channels.get(ch)!),
    senderCols: st.senders[ci]?.map((f) => (f === undefined ? -1 : fields.indexOf(f))),
  };
  // Without member rows, held-out and unreachable members are counted in DuckDB and never read back (they touch no
  // cap), and the sendable ones were read up front.
  const pre = st.settled[ci]?.get(w.occIndex);
  if (pre) {
    funnel.audience += pre.unreachable;
    funnel.unreachable += pre.unreachable;
  }
  const ready = st.sendable[ci];
  if (ready) walkReady(run, ready.slice(w.occIndex), channelQuotas.length);
  const read = st.byOcc[ci];
  const batches = ready
    ? []
    : read
      ? [read.get(w.occIndex)].filter((b) => b !== undefined)
      : streamCandidates(input.members.conn, st.tables[ci]!, w.occIndex, st.rowsOf[ci]!, run.wantFields ? fields : []);
  for await (const batch of batches) for (let r = 0; r < batch.rows; r++) decideRow(run, batch, r);
  campaign.channels.forEach((ch, j) => {
    if (run.sentOn[j]) funnel.byChannel[ch] = run.sentOn[j]!;
  });
  return { campaign, occurrence: w.occurrence, sendAt: w.sendAt, deferred: run.deferred, funnel, problems: [...run.problems.values()] };
}

/** Only sendable members, no strings, nothing rendered inline: the tight loop of walkSendable, and its counts. */
function walkReady(run: OccurrenceRun, slice: { rid: Int32Array; chans: Int32Array; held: Uint8Array }, channels: number): void {
  const { st, w, funnel } = run;
  const ci = w.campaignIndex;
  const c = walkSendable(slice.rid, slice.chans, slice.held, w.sendAt, run.chain, channels, st.reached, st.sendLog[ci]!, w.occIndex, run.skipRows);
  funnel.audience += slice.rid.length - c.kept;
  funnel.holdout += c.heldOut;
  if (funnel.plannedBefore !== undefined) funnel.plannedBefore += c.kept;
  funnel.sends += c.sends;
  if (run.deferred) funnel.deferred += c.sends;
  st.sendCount[ci]! += c.sends;
  c.sentOn.forEach((n, j) => (run.sentOn[j]! += n));
  for (const [reason, n] of c.capped)
    if (n) {
      funnel.capped += n;
      funnel.cappedBy[reason] = (funnel.cappedBy[reason] ?? 0) + n;
    }
}

/** One member of the general walk: decided, counted, logged, and kept as a member row where asked. */
function decideRow(run: OccurrenceRun, batch: CandidateBatch, r: number): void {
  const { st, w, campaign, funnel, chain } = run;
  const ci = w.campaignIndex;
  const { rid, held, chans, mkeys } = batch;
  const row = rid[r]!;
  if (run.skipRows !== undefined && !held[r] && chans[r] && run.skipRows.has(row)) {
    funnel.plannedBefore!++;
    // Still sendable, on the channels that reach the member now (a consent withdrawn since is not).
    if (st.kept)
      for (let j = 0; j < campaign.channels.length; j++)
        if (chans[r]! & (1 << j)) st.kept.add(`${campaign.name}|${w.occurrence.id}|${mkeys[r]}|${campaign.channels[j]}`);
    if (!run.wantFields) st.sendLog[ci]!.push(w.occIndex, row, -1);
    return;
  }
  funnel.audience++;
  let reason: SkipReason | undefined;
  let chosen = -1;
  if (!chans[r]) reason = "unreachable";
  else {
    chosen = chain.choose(row, chans[r]!, w.sendAt);
    if (chosen < 0) reason = cappedReason(chosen);
  }
  let message: { vars?: Record<string, unknown>; rendered?: RenderResult } = {};
  if (!reason && chosen >= 0) {
    if (run.wantFields) message = renderRow(run, batch, r, chosen);
    const cost = run.wantFields ? (message.rendered?.cost ?? unitPrice(st.input.project, campaign.channels[chosen]!)) : 0;
    if (!chain.affordable(cost)) reason = "capped:budget";
    else if (held[r]) {
      // Would be sent: held out instead. Nothing is sent, so no cap, quota, limit or budget is used up.
      reason = "held_out";
      chain.hold(row, w.sendAt);
    } else recordSend(run, batch, r, chosen, cost, message.rendered);
  }
  if (reason === "held_out") funnel.holdout++;
  else if (reason === "unreachable") funnel.unreachable++;
  else if (reason) {
    funnel.capped += reason.startsWith("capped") ? 1 : 0;
    funnel.cappedBy[reason] = (funnel.cappedBy[reason] ?? 0) + 1;
    if (!run.wantFields) st.sendLog[ci]!.push(w.occIndex, row, -1);
  }
  if (st.rowsOf[ci] && (st.input.onlyMember === undefined || mkeys[r] === st.input.onlyMember))
    st.decisions.push(memberDecision(run, batch, r, reason, chosen, message));
}

/** The member's message on the chosen channel, rendered once per distinct message of the campaign. */
function renderRow(run: OccurrenceRun, batch: CandidateBatch, r: number, chosen: number): { vars?: Record<string, unknown>; rendered?: RenderResult } {
  const { st, campaign } = run;
  const ci = run.w.campaignIndex;
  const fields = st.fieldLists[ci]!;
  const cache = st.renderCaches[ci]!;
  let key = String(chosen);
  for (const j of st.keyColumns[ci]![chosen]!) key += "\u0001" + String(batch.fieldCols[j]![r] ?? "\u0002");
  let rendered = cache.get(key);
  let vars: Record<string, unknown> | undefined;
  if (!rendered || st.rowsOf[ci]) {
    vars = { ...campaign.with };
    for (let j = 0; j < fields.length; j++) {
      const v = batch.fieldCols[j]![r];
      if (v !== null && v !== undefined) vars[fields[j]!] = v;
    }
  }
  if (!rendered) {
    rendered = renderFor(run.template, st.input.project, campaign.channels[chosen]!, vars!);
    if (cache.size > 200_000) cache.clear();
    cache.set(key, rendered);
  }
  return { vars, rendered };
}

/** A send: what it uses up, the funnel, the log of exceptions, the tally per sender, and its content problems. */
function recordSend(run: OccurrenceRun, batch: CandidateBatch, r: number, chosen: number, cost: number, rendered: RenderResult | undefined): void {
  const { st, w, campaign, funnel } = run;
  const ci = w.campaignIndex;
  const row = batch.rid[r]!;
  const channel = campaign.channels[chosen]!;
  funnel.sends++;
  run.sentOn[chosen]!++;
  funnel.cost += cost;
  if (run.deferred) funnel.deferred++;
  run.chain.send(row, chosen, w.sendAt, cost);
  st.reached[row] = 1;
  const senderCol = run.senderCols?.[chosen] ?? -1;
  if (senderCol >= 0 && rendered?.content)
    st.tally!.addContent(campaign.name, channel, String(batch.fieldCols[senderCol]![r] ?? ""), w.occurrence.id, rendered.content);
  if (!run.wantFields) {
    // Only the exceptions are logged: a send on the member's first reachable channel is derived in SQL.
    if ((batch.chans[r]! & ((1 << chosen) - 1)) !== 0) st.sendLog[ci]!.push(w.occIndex, row, chosen);
    st.sendCount[ci]!++;
  }
  for (const p of rendered?.problems ?? []) {
    const k = `${channel}|${p.rule}|${p.field}`;
    const e = run.problems.get(k);
    if (e) e.members++;
    else run.problems.set(k, { channel, ...p, members: 1 });
  }
}

/** The member row of one decision (member rows: --plan, dispatch, chuda test, preview). */
function memberDecision(
  run: OccurrenceRun,
  batch: CandidateBatch,
  r: number,
  reason: SkipReason | undefined,
  chosen: number,
  { vars, rendered }: { vars?: Record<string, unknown>; rendered?: RenderResult },
): MemberDecision {
  const { campaign, w } = run;
  const d: MemberDecision = { campaign: campaign.name, occurrence: w.occurrence.id, member: batch.mkeys[r]!, sendAt: w.sendAt };
  if (reason) {
    d.reason = reason;
    return d;
  }
  const cfg = run.channelConfigs[chosen]!;
  d.channel = campaign.channels[chosen]!;
  d.address = String(vars?.[cfg.address] ?? "");
  if (cfg.sender) d.sender = String(vars?.[cfg.sender] ?? "");
  d.fallbacks = campaign.channels.filter((_, j) => j > chosen && batch.chans[r]! & (1 << j));
  if (rendered?.content) d.content = rendered.content;
  const errors = rendered?.problems.filter((x) => x.severity === "error").map((x) => `${x.field}: ${x.message}`);
  if (errors?.length) d.contentErrors = errors;
  d.vars = vars;
  return d;
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

function repeatAllows(campaign: ResolvedCampaign, last: number, at: number, tz: string): boolean {
  if (last === 0) return true;
  if (campaign.repeat.kind === "never") return false;
  if (campaign.repeat.kind === "after") return at >= addDuration(last, campaign.repeat.duration, tz);
  return true;
}
