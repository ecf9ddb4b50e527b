/**
 * Group commit for the server: the writes of every request that arrives within one turn of the event loop (or while
 * the previous commit is under way) are committed by one durable transaction of the ledger, SQLite or PostgreSQL, and
 * each request is answered only after that commit. A request whose write throws is rolled back alone (a savepoint),
 * the others commit.
 */
import type { DeliveryCommitResult, DeliveryWrites } from "../dispatch/delivery.js";
import type { Ledger } from "../ledger/types.js";

interface Pending {
  writes: DeliveryWrites;
  now: number;
  resolve: (v: DeliveryCommitResult) => void;
  reject: (e: unknown) => void;
}

export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  /** The commit under way (commits run one after another; what arrives meanwhile goes in the next one). */
  private chain: Promise<void> = Promise.resolve();
  /** Transactions committed, and requests they carried (for the bench and the logs). */
  commits = 0;
  requests = 0;

  constructor(private readonly ledger: Pick<Ledger, "commitDelivery">) {}

  /** Queues a request's writes for the next group transaction; resolves with their result once it is durable. */
  run(writes: DeliveryWrites, now: number): Promise<DeliveryCommitResult> {
    return new Promise<DeliveryCommitResult>((resolve, reject) => {
      this.queue.push({ writes, now, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Commits everything queued now (after the commit under way, if any). */
  flush(): Promise<void> {
    this.scheduled = false;
    this.chain = this.chain.then(() => this.commitQueued());
    return this.chain;
  }

  private async commitQueued(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    if (!batch.length) return;
    let results;
    try {
      results = await this.ledger.commitDelivery(batch.map((p) => ({ writes: p.writes, now: p.now })));
    } catch (e) {
      for (const p of batch) p.reject(e);
      return;
    }
    this.commits++;
    this.requests += batch.length;
    batch.forEach((p, i) => {
      const r = results[i]!;
      if (r.ok) p.resolve(r.value);
      else p.reject(r.error);
    });
  }
}
