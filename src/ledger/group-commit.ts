/**
 * The group-commit queue both ledgers share: in-flight marks, results and the fallback sends they open, queued by every
 * send-loop worker, written together by one transaction (one durable commit) instead of one each. The ledger supplies
 * how a group is written; the queue keeps what is waiting, wakes the ledger once per turn of the event loop, and
 * settles each mark with the ids that were still planned once the group is durable. After a failed commit every later
 * write is refused with that error: a run never goes on past a write it could not make.
 */
import type { SendInsert, SendResult } from "./types.js";

/** An in-flight mark waiting for its commit: resolved with the ids that were still planned. */
export interface QueuedMark {
  ids: number[];
  /** The attempts each send had when it was read, where known: a send attempted since is not marked. */
  attempts?: number[];
  runId: number;
  now: number;
  resolve: (ok: Set<number>) => void;
  reject: (e: unknown) => void;
}

/** What one group commit writes: fallback inserts and results first, then the marks. */
export interface CommitGroup {
  marks: QueuedMark[];
  results: { r: SendResult; now: number }[];
  inserts: SendInsert[];
}

export class GroupCommitQueue {
  private marks: QueuedMark[] = [];
  private results: { r: SendResult; now: number }[] = [];
  private inserts: SendInsert[] = [];
  private wakeScheduled = false;
  private error: unknown;
  private failed = false;

  /** `wake` runs once per turn of the event loop in which something was queued: the ledger commits what it can then. */
  constructor(private readonly wake: () => void) {}

  /** Queues an in-flight mark of `ids`; resolves, with the ids still planned, once the mark is durable. */
  mark(ids: number[], runId: number, now: number, attempts?: number[]): Promise<Set<number>> {
    if (this.failed) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      this.marks.push({ ids, attempts, runId, now, resolve, reject });
      this.schedule();
    });
  }

  /** Queues a batch's results and the fallback sends they open, for the next group commit. */
  finish(results: SendResult[], now: number, inserts: SendInsert[]): void {
    this.throwIfFailed();
    for (const r of results) this.results.push({ r, now });
    for (const s of inserts) this.inserts.push(s);
    this.schedule();
  }

  get hasQueued(): boolean {
    return this.marks.length > 0 || this.results.length > 0 || this.inserts.length > 0;
  }

  /** Everything queued so far, as one group; the queue starts empty again. */
  take(): CommitGroup | undefined {
    if (!this.hasQueued) return undefined;
    const group = { marks: this.marks, results: this.results, inserts: this.inserts };
    this.marks = [];
    this.results = [];
    this.inserts = [];
    return group;
  }

  /** The group is durable: each mark learns which of its ids it got (`ok[i]` for `group.marks[i]`). */
  settle(group: CommitGroup, ok: Set<number>[]): void {
    group.marks.forEach((m, i) => m.resolve(ok[i] ?? new Set()));
  }

  /**
   * The group (if any) could not be written: its marks fail, so do the marks still queued (they would never be
   * committed), and so does every write after it.
   */
  fail(group: CommitGroup | undefined, e: unknown): void {
    if (!this.failed) {
      this.failed = true;
      this.error = e;
    }
    const queued = this.take();
    for (const m of [...(group?.marks ?? []), ...(queued?.marks ?? [])]) m.reject(e);
  }

  /** Rethrows the error of a failed commit (kept for the next call that writes or flushes). */
  throwIfFailed(): void {
    if (this.failed) throw this.error;
  }

  get hasFailed(): boolean {
    return this.failed;
  }

  private schedule(): void {
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.wake();
    });
  }
}
