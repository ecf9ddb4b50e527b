/**
 * Group commit for the server: the writes of every request that arrives within one turn of the event loop are
 * committed by one durable transaction (one WAL sync), and each request is answered only after that commit. A
 * request whose write throws is rolled back alone (a savepoint), the others commit.
 */
import type Database from "better-sqlite3";

interface Pending {
  work: (db: Database.Database) => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  /** Transactions committed, and requests they carried (for the bench and the logs). */
  commits = 0;
  requests = 0;

  constructor(private readonly db: Database.Database) {}

  /** Runs `work` inside the next group transaction; resolves with its result once the transaction is durable. */
  run<T>(work: (db: Database.Database) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything queued now. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (!batch.length) return;
    const results: { ok: boolean; value: unknown }[] = [];
    try {
      this.db.transaction(() => {
        for (const p of batch) {
          try {
            results.push({ ok: true, value: this.db.transaction(p.work)(this.db) });
          } catch (e) {
            results.push({ ok: false, value: e });
          }
        }
      })();
    } catch (e) {
      for (const p of batch) p.reject(e);
      return;
    }
    this.commits++;
    this.requests += batch.length;
    batch.forEach((p, i) => (results[i]!.ok ? p.resolve(results[i]!.value) : p.reject(results[i]!.value)));
  }
}
