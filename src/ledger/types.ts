/**
 * The dispatch ledger as every caller sees it: one interface, with SQLite (`.chuda/state.db`, the embedded default)
 * behind it today. Every method is asynchronous so that a ledger on a database server can implement it as is.
 */
import type { HistorySend } from "../plan/types.js";
import type { LedgerOutcomeRow } from "../outcomes/attribution.js";
import type {
  DeliveryCommitResult,
  DeliveryCounts,
  DeliveryWrites,
  ReceiptInput,
  ReceiptOutcome,
  Settled,
  SuppressionInput,
  SuppressionRow,
  UnconfirmedSend,
} from "../dispatch/delivery.js";

/**
 * `withdrawn`: a pending send whose member is no longer eligible when a later run plans the occurrence again (left
 * the snapshot, unsubscribed, excluded, unreachable): never sent.
 */
export type SendState = "planned" | "in_flight" | "sent" | "queued" | "failed" | "unknown" | "held_out" | "expired" | "withdrawn";

export interface SendRow {
  key: string;
  campaign: string;
  occurrence: string;
  member: string;
  channel: string;
  state: SendState;
  send_at: number;
  address: string | null;
  sender: string | null;
  content: string | null;
  fallbacks: string | null;
  vars: string | null;
  attempts: number;
  provider_id: string | null;
  error_code: string | null;
  error_message: string | null;
  not_before: number | null;
  run_id: number | null;
  first_attempt_at: number | null;
  updated_at: number;
}

export interface StaffConfirmation {
  campaign: string;
  channel: string;
  staff: string;
  tasks: number;
  confirmed: number;
  sends: number;
  sent: number;
  waiting: number;
  expired: number;
}

/** A send row as the plan records it (the columns a run fills in later start empty). */
export type SendInsert = Omit<SendRow, "attempts" | "provider_id" | "error_code" | "error_message" | "not_before" | "first_attempt_at">;

/** What a run reads of a due send: only the columns a provider call needs. `id` is the row's id in the ledger. */
export interface DueSend {
  id: number;
  key: string;
  campaign: string;
  occurrence: string;
  member: string;
  channel: string;
  address: string | null;
  sender: string | null;
  content: string | null;
  attempts: number;
  first_attempt_at: number | null;
  /** The planned send time (a send expires a set time after it). */
  send_at: number;
}

/** A send's place in the order of due sends (send time, then id). */
export type DuePosition = Pick<DueSend, "send_at" | "id">;

/** The result of one send. Rows are found by `id` when given, else by `key`. */
export interface SendResult {
  id?: number;
  key: string;
  state: SendState;
  provider_id?: string | null;
  error_code?: string | null;
  error_message?: string | null;
  not_before?: number | null;
}

/** A test send to a staff member (`dispatch --test-to`), kept apart from the campaign's sends. */
export interface TestSendRecord {
  campaign: string;
  member: string;
  channel: string;
  address: string | null;
  state: string;
  provider_id?: string | null;
  error_code?: string | null;
  error_message?: string | null;
  at: number;
}

export interface RunRow {
  id: number;
  started_at: number;
  finished_at: number | null;
  at: number;
  status: string;
  summary: string | null;
  /**
   * A run still marked `running` whose process shows no sign of life (killed, or its host lost): the SQLite ledger's
   * process is gone, a PostgreSQL run's heartbeat stopped. The next dispatch marks it `interrupted`.
   */
  stale?: boolean;
  /** For a stale run of a PostgreSQL ledger: its last heartbeat. */
  last_seen?: number | null;
}

/** Sends in flight with runs other than the current one, when it ends (a worker's own are finished by then). */
export interface InFlightElsewhere {
  /** Held by runs that are alive (their heartbeat is recent): they finish them. */
  live: number;
  /** Held by runs not heard from (killed, or lost the database): the next run reconciles them once their lease ends. */
  silent: number;
}

export interface OccurrenceRecord {
  campaign: string;
  occurrence: string;
  sendAt: number;
  audience: number;
}

export type PendingDueSend = Pick<SendRow, "key" | "campaign" | "occurrence" | "member" | "channel" | "address" | "send_at" | "not_before" | "updated_at">;

/**
 * Semantics every implementation keeps (the ledger tests run against each):
 * - a send's key (campaign, occurrence, member, channel) is recorded before any provider call, and never twice;
 * - `markInFlightQueued` resolves only once the marks are durable: a provider call may leave only after it;
 * - results queued by `queueFinish` and the fallback sends they open are committed together;
 * - `restrictTo` narrows what a run is handed to send (`due`, `hasDue`, `dueChannels`, `nextNotBefore`,
 *   `plannedCount`, `expire`, `pendingDue`, `queued`) to the given campaigns.
 */
export interface Ledger {
  /** A random id given to the ledger when it is created: its history's identity. */
  readonly id: string;

  startRun(at: number, now: number, members?: number | null): Promise<number>;
  finishRun(id: number, now: number, status: string, summary: unknown): Promise<void>;
  /** Runs still marked `running` other than `current` become `interrupted` (for the holder of the dispatch lock). */
  markDeadRunsInterrupted(current: number, now: number): Promise<number>;
  /** The member count of the snapshot the latest run used, if any run recorded one. */
  lastSnapshotSize(): Promise<number | undefined>;
  /** Records the member count of the snapshot a run read after it started (see `lastSnapshotSize`). */
  recordRunMembers(id: number, members: number): Promise<void>;
  runs(limit?: number): Promise<RunRow[]>;
  /** Sends in flight with runs other than `runId`. */
  inFlightElsewhere(runId: number): Promise<InFlightElsewhere>;

  /** Per occurrence planned by an earlier run with its send time in [fromMs, toMs]: `${campaign}|${occurrence}` → members. */
  committed(fromMs: number, toMs: number): Promise<Map<string, Set<string>>>;
  /** Channel and content of an occurrence's sends that cost (committed to, not failed or withdrawn). */
  committedContent(campaign: string, occurrence: string): Promise<{ channel: string; content: string | null }[]>;
  /** Occurrences planned to go out before `before` that still have pending sends. */
  pendingOccurrences(before: number): Promise<{ campaign: string; occurrence: string; send_at: number }[]>;
  /** Withdraws the pending sends of an occurrence that `keep` rejects (by member and channel); returns how many. */
  withdraw(campaign: string, occurrence: string, keep: (member: string, channel: string) => boolean, now: number): Promise<number>;
  /** Occurrences an earlier run planned already: `${campaign}|${occurrence}`. */
  plannedOccurrences(): Promise<Set<string>>;
  /** Sends that count against caps, quotas and repeat. */
  history(): Promise<HistorySend[]>;
  /**
   * Records a whole plan in one transaction; keys recorded already are left as they are. `sends` is read as the
   * ledger takes them (each row may be built only when asked for), and may be read more than once.
   */
  recordPlan(occurrences: OccurrenceRecord[], sends: Iterable<SendInsert>, runId: number): Promise<{ heldOut: number }>;
  insertSends(sends: SendInsert[]): Promise<void>;
  recordTestSend(t: TestSendRecord): Promise<void>;

  /**
   * Planned sends of a channel due by `until` whose backoff has passed at `now`, in send-time order; with `after`
   * (the last send of the caller's previous read), only those after it in that order, so that a large plan's reads
   * do not walk again over the sends read before.
   */
  due(channel: string, until: number, now: number, limit: number, after?: DuePosition): Promise<DueSend[]>;
  hasDue(channel: string, until: number, now: number): Promise<boolean>;
  /** The whole row of a send, by id. */
  row(id: number): Promise<SendRow | undefined>;
  get(key: string): Promise<SendRow | undefined>;
  /** Sends a run gave up on for now (repeated transient failures) become due again at once; returns how many. */
  releaseForNextRun(): Promise<number>;
  plannedCount(): Promise<number>;
  dueChannels(now: number): Promise<string[]>;
  restrictTo(campaigns: string[]): Promise<void>;
  /** Pending sends past their expiry become `expired`; returns how many. */
  expire(rules: { campaign: string; afterMs: number }[], defaultMs: number, now: number): Promise<number>;
  /** Moves pending sends to wait until `notBefore`, touching nothing else. */
  postpone(ids: number[], notBefore: number): Promise<void>;
  pendingDue(until: number): Promise<PendingDueSend[]>;
  nextNotBefore(until: number, channel?: string): Promise<number | undefined>;

  /**
   * Group commit of in-flight marks: resolves with the ids that were still planned once the marks are durable.
   * `attempts`, the attempts each send had when `due` returned it: a send another worker attempted since is not
   * marked (it may be planned again for a retry that is not due yet). The SQLite ledger has one process at a time.
   */
  markInFlightQueued(ids: number[], runId: number, now: number, attempts?: number[]): Promise<Set<number>>;
  /** Queues results and the fallback sends they open, committed together by the next flush. */
  queueFinish(results: SendResult[], now: number, inserts?: SendInsert[]): Promise<void>;
  /** Commits everything queued. */
  flush(): Promise<void>;
  /** Records results and the fallback sends they open in one transaction. */
  finish(results: SendResult[], now: number, inserts?: SendInsert[]): Promise<void>;

  inFlight(): Promise<SendRow[]>;
  /** WeCom sends whose task waits for a staff member. */
  queued(): Promise<SendRow[]>;
  staffConfirmation(): Promise<StaffConfirmation[]>;
  counts(): Promise<{ campaign: string; channel: string; state: SendState; n: number }[]>;
  unknownSends(limit?: number): Promise<SendRow[]>;
  failuresByCode(): Promise<{ channel: string; error_code: string; n: number }[]>;
  /** The sends that matter for outcomes (`chuda report`): every assigned or held-out member. */
  outcomeRows(): Promise<LedgerOutcomeRow[]>;

  /**
   * Only for a ledger several workers share (PostgreSQL): holds the planning lock until the returned release is
   * called, so that each occurrence is planned by one worker while the others wait. A ledger behind the dispatch file
   * lock (SQLite) needs none.
   */
  lockPlanning?(): Promise<() => Promise<void>>;

  getToken(key: string, now: number): Promise<string | undefined>;
  putToken(key: string, token: string, expiresAt: number): Promise<void>;
  /**
   * The lease on fetching the token of `key`, so that processes sharing the ledger never fetch at the same moment: taken
   * for `holder` until `until` when free at `now` or already `holder`'s (one atomic conditional upsert of the row
   * `lease|<key>`); `until` ≤ `now` releases it. True when `holder` holds it. Drivers reach these three methods as their
   * `TokenStore` (src/dispatch/token-store.ts).
   */
  leaseToken(key: string, holder: string, now: number, until: number): Promise<boolean>;

  /**
   * Delivery receipts and opt-outs (`chuda serve`, `chuda receipts pull`, `chuda suppress`; semantics in
   * src/dispatch/delivery.ts). Results committed by `queueFinish`/`finish` also apply the receipts that came before
   * them and suppress members refused with an opt-out error, in the same transaction.
   */
  /** Records receipts in one durable transaction; one outcome per receipt. */
  recordReceipts(receipts: ReceiptInput[], now: number): Promise<ReceiptOutcome[]>;
  /** Applies receipts stored before their send's result; returns how many matched now. */
  matchPendingReceipts(): Promise<number>;
  /**
   * The group commit of `chuda serve`: the writes of several requests in one durable transaction, each request's
   * writes rolled back alone when they fail (a savepoint).
   */
  commitDelivery(batch: { writes: DeliveryWrites; now: number }[]): Promise<Settled<DeliveryCommitResult>[]>;
  /** Adds suppressions in one transaction; how many were new. */
  suppress(entries: SuppressionInput[]): Promise<number>;
  /** Ends the active suppressions of a member (by key or address) on a channel (undefined: every one); how many. */
  unsuppress(who: string, channel: string | undefined, actor: string, reason: string, at: number): Promise<number>;
  /** The suppressions in force (with `all`, lifted ones too), oldest first. */
  suppressions(opts?: { all?: boolean }): Promise<SuppressionRow[]>;
  /** Sends delivered, failed, and sent without a final receipt. */
  delivery(): Promise<DeliveryCounts>;
  /** Per channel, delivered / sends with a final receipt among sends since `since` (`rates: observed`). */
  observedDelivery(since: number): Promise<Map<string, { rate: number; sample: number }>>;
  /** Sends of `channel` since `since` accepted by the provider with no final receipt (to pull receipts for). */
  unconfirmedSends(channel: string, since: number): Promise<UnconfirmedSend[]>;
  /** Resolves when the ledger answers (`/healthz`). */
  ping(): Promise<void>;

  /** Commits what is queued, then closes. */
  close(): Promise<void>;

  // Business events (`POST /events` of chuda serve) and tracked links (`{{track}}`, `GET /r/<id>`).
  /** Stores events in one durable transaction; an event whose `ident` is stored already is a duplicate. */
  insertEvents(events: Omit<StoredEvent, "id">[], receivedAt: number): Promise<{ inserted: number; duplicates: number }>;
  /** Events stored after id `afterId` whose time is at or after `fromTime`, oldest id first. */
  eventsAfter(afterId: number, fromTime: number, limit?: number): Promise<StoredEvent[]>;
  eventCount(): Promise<number>;
  /** A secret made on first use and kept in the ledger: it signs the ids of tracked links. */
  linkSecret(): Promise<string>;
  /** Records the tracked links of sends about to be recorded (an id already known is the same link). */
  insertLinks(links: { id: string; sendKey: string; link: number; url: string }[]): Promise<void>;
  link(id: string): Promise<{ send_key: string; link: number; url: string } | undefined>;
  /** Records a click on link `link` of a send, committed when this resolves. */
  recordClick(sendKey: string, link: number, at: number): Promise<void>;
}

/** A business event as stored: `time` in epoch ms, `props` as given (typed by chuda.yaml `events:`). */
export interface StoredEvent {
  id: number;
  ident: string;
  member: string;
  name: string;
  time: number;
  props: Record<string, unknown>;
}
