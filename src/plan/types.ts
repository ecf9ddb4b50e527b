/**
 * The Plan: the only record of what would be sent (Terraform's plan). `chuda simulate` renders it,
 * `chuda dispatch` carries it out, `chuda test` compares it with expectations. Built by plan.ts only.
 */
import type { ResolvedCampaign, IR } from "../resolved/types.js";
import type { Occurrence } from "../calendar/types.js";
import type { Project } from "../project/types.js";
import type { Template, RenderedContent } from "../content/types.js";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { PlanSuppression } from "./suppressed.js";

/** Where members come from: a typed DuckDB table (src/members). */
export interface MemberTable {
  conn: DuckDBConnection;
  /** Table or view name, typed by the member schema. */
  table: string;
  count: number;
}

/**
 * A send that already happened (or is committed to) before this plan: counts against caps, quotas and repeat. A
 * member held out of a campaign has channel `-` and counts for that campaign's repeat only.
 */
export interface HistorySend {
  member: string;
  campaign: string;
  channel: string;
  /** Epoch ms of the send. */
  at: number;
}

/** A business event: `ident` is its identity (member, name, moment, properties), part of its occurrences' ids. */
export interface BusinessEvent {
  ident: string;
  member: string;
  name: string;
  /** Epoch ms. */
  time: number;
  props: Record<string, unknown>;
}

export type SkipReason = "held_out" | "unreachable" | "capped:repeat" | "capped:policy.max" | "capped:quota" | "capped:limit" | "capped:budget";

/**
 * Candidate tables kept between runs over one unchanged snapshot (the snapshot cache): a campaign's candidates depend
 * only on its query, its occurrences and the snapshot, so a campaign that did not change is not selected again.
 */
export interface CandidateCache {
  /** Fills `table` with the candidates kept under `key`; false when there are none (or they cannot be read). */
  take(key: string, table: string): Promise<boolean>;
  /** Keeps the candidates of `table` under `key` (best effort: a failure only means they are selected next time). */
  keep(key: string, table: string): Promise<void>;
}

export interface PlanInput {
  project: Project;
  campaigns: ResolvedCampaign[];
  exclude?: IR;
  templates: Map<string, Template>;
  members: MemberTable;
  /** Occurrences firing on these project-local dates (inclusive). */
  from: string;
  to: string;
  /** Only occurrences whose sends go out in [fromMs, toMs] (dispatch's due window, `--at`); default all of from..to. */
  due?: { fromMs: number; toMs: number };
  /**
   * Business events received by `chuda serve`: each fires the campaigns triggered by its name (one occurrence per
   * event and campaign, for the event's member, at the event's moment plus the trigger's offset).
   */
  events?: BusinessEvent[];
  /** Occurrences to leave out (already planned by an earlier dispatch run): `${campaign}|${occurrence id}`. */
  skipOccurrences?: Set<string>;
  history?: HistorySend[];
  /** Opt-outs in force (the ledger's suppressions): a suppressed member is unreachable on that channel. */
  suppressed?: PlanSuppression[];
  /**
   * Members an earlier dispatch run already planned in an occurrence (`${campaign}|${occurrence id}` → member keys).
   * The occurrence is planned again against this snapshot: those members are left as they are (their sends are in
   * `history`, so caps and quotas count them), counted in `funnel.plannedBefore` and never decided again.
   */
  committed?: Map<string, Set<string>>;
  /** What the sends of `committed` cost, per `${campaign}|${occurrence id}`: a campaign's budget counts it as spent. */
  spent?: Map<string, number>;
  /** Keep member rows of this member only (preview: the whole repository is planned for one member's sake). */
  onlyMember?: string;
  /** Keep one row per member decision (for --plan, dispatch, chuda test). Off for plain simulation. */
  memberRows?: boolean;
  /**
   * Count sends per sender and identical message (`Plan.senderMessages`) for these campaigns, on their channels that
   * have a `sender` field (simulate: WeCom tasks per staff member), without keeping member rows.
   */
  senderMessagesFor?: ReadonlySet<string>;
  /** Candidates kept from earlier runs over the same snapshot (simulate with the snapshot cache). */
  candidateCache?: CandidateCache;
  /** Render content for every send (cost per SMS segment, content rules). Default true. */
  render?: boolean;
  onProgress?: (done: number, total: number) => void;
  /** Called as the walk over occurrences starts: it runs in JS, and DuckDB is free for other work meanwhile. */
  onWalk?: () => void;
  /** Campaigns whose messages are rendered after the walk (plain simulation), as they finish. */
  onRenderProgress?: (done: number, total: number) => void;
}

export interface ContentProblemCount {
  channel: string;
  rule: string;
  field: string;
  severity: "error" | "warning";
  message: string;
  members: number;
}

export interface Funnel {
  audience: number;
  holdout: number;
  unreachable: number;
  capped: number;
  sends: number;
  /** Sends whose time moved because of quiet hours or the send window. */
  deferred: number;
  byChannel: Record<string, number>;
  cappedBy: Partial<Record<SkipReason, number>>;
  /** Estimated cost in CNY. */
  cost: number;
  /**
   * Sendable members an earlier dispatch run already planned in this occurrence: outside `audience` (which counts
   * what this plan decides), so a plan made again counts only its new sends.
   */
  plannedBefore?: number;
}

export interface PlannedOccurrence {
  campaign: ResolvedCampaign;
  occurrence: Occurrence;
  /** When the sends go out (after quiet hours and the send window), epoch ms. */
  sendAt: number;
  deferred: boolean;
  funnel: Funnel;
  problems: ContentProblemCount[];
}

export interface MemberDecision {
  campaign: string;
  occurrence: string;
  member: string;
  /** The chosen channel, when sent. */
  channel?: string;
  reason?: SkipReason;
  sendAt: number;
  address?: string;
  sender?: string;
  /** Further reachable channels, in the campaign's order, for fallback after a permanent failure. */
  fallbacks?: string[];
  content?: RenderedContent;
  /** Content rules the rendered message breaks with severity error (the provider would refuse it). */
  contentErrors?: string[];
  /** Member fields the templates read plus `with` values (to render a fallback channel's content). */
  vars?: Record<string, unknown>;
}

/** Sends of one occurrence that one sender (a WeCom staff member) sends with one identical message. */
export interface SenderMessageCount {
  campaign: string;
  channel: string;
  /** The sender field's value ("" when the member has none). */
  staff: string;
  occurrence: string;
  /** The rendered message as JSON: equal strings are one message. */
  message: string;
  sends: number;
}

export interface Plan {
  from: string;
  to: string;
  occurrences: PlannedOccurrence[];
  decisions: MemberDecision[];
  /**
   * With `committed` and member rows: `${campaign}|${occurrence}|${member}|${channel}` of the members planned before
   * who are still sendable (in the audience, not excluded, not held out), on each channel that reaches them now. A
   * pending send of a member planned before on any other channel is withdrawn by dispatch.
   */
  kept?: Set<string>;
  /** Distinct members with at least one send. */
  membersReached: number;
  /** Members of the snapshot suppressed (an opt-out in force) on at least one channel, when suppressions were given. */
  suppressed?: number;
  /** Sends per sender and identical message, for the campaigns of `senderMessagesFor`. */
  senderMessages?: SenderMessageCount[];
  /** Milliseconds spent per phase (candidates in DuckDB, the walk, rendering), for `npm run bench`. */
  timings: Record<string, number>;
}
