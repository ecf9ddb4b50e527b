/**
 * One dispatch at a time per repository. The lock is a write transaction held open for the whole run on a small
 * SQLite database, `.chuda/dispatch.lock.db`: the kernel holds the file lock behind it and drops it when the
 * process ends, however it ends (kill -9 included). Nothing is inferred from pids: a pid recorded by a dead run that
 * now belongs to another process (pid 1 after a container restart) cannot block anyone.
 *
 * Who holds the lock (pid, since) is written to the same database for the refusal message only. The holder commits
 * that row and then takes the write transaction again at once; should another process slip in between, it is the
 * one that holds the lock and this one is refused: exactly one of any number of racing runs proceeds.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import path from "node:path";

/** A lock this process holds: `held()` stays true until `release()`. */
export interface HeldLock {
  ok: true;
  held: () => boolean;
  release: () => void;
}

export type LockResult = HeldLock | { ok: false; pid: number | undefined; since: string | undefined };

export function lockPath(root: string): string {
  return path.join(root, ".chuda", "dispatch.lock.db");
}

const busy = (e: unknown) => {
  const code = (e as { code?: string }).code ?? "";
  return code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED");
};

export function acquireLock(root: string, now: number): LockResult {
  const file = lockPath(root);
  mkdirSync(path.dirname(file), { recursive: true });
  const db = openLockDb(file);
  if (!db) return refused(file);
  try {
    db.exec("BEGIN EXCLUSIVE");
    db.prepare("INSERT OR REPLACE INTO holder (id, pid, since) VALUES (1, ?, ?)").run(process.pid, new Date(now).toISOString());
    db.exec("COMMIT");
    db.exec("BEGIN EXCLUSIVE");
  } catch (e) {
    if (db.inTransaction) db.exec("ROLLBACK");
    db.close();
    if (busy(e)) return refused(file);
    throw e;
  }
  let released = false;
  return {
    ok: true,
    held: () => !released && db.inTransaction,
    release: () => {
      if (released) return;
      released = true;
      try {
        if (db.inTransaction) db.exec("ROLLBACK");
      } finally {
        db.close();
      }
    },
  };
}

/**
 * Opens (creating on first use) the lock database. Only the write transaction is the lock: a moment's contention
 * while another run creates the file or switches it to WAL is waited out briefly, not taken for a refusal.
 */
function openLockDb(file: string): Database.Database | undefined {
  for (let attempt = 0; attempt < 40; attempt++) {
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { timeout: 0 });
      db.pragma("busy_timeout = 0");
      // WAL: a refused run can still read who holds the lock while the holder's write transaction is open.
      if (db.pragma("journal_mode", { simple: true }) !== "wal") db.pragma("journal_mode = WAL");
      if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'holder'").get())
        db.exec("CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, since TEXT NOT NULL)");
      return db;
    } catch (e) {
      db?.close();
      if (!busy(e)) throw e;
      sleepSync(25);
    }
  }
  return undefined;
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Who holds the lock, as far as the lock database says (for the message only). A holder that has just taken the
 * lock may not have committed its row yet: the row is read again for a short while before giving up on it.
 */
function refused(file: string): LockResult {
  for (let i = 0; i < 20; i++) {
    const r = readHolder(file);
    if (r.pid !== undefined) return r;
    sleepSync(25);
  }
  return readHolder(file);
}

function readHolder(file: string): LockResult & { ok: false } {
  try {
    const db = new Database(file, { readonly: true, timeout: 0 });
    try {
      const row = db.prepare("SELECT pid, since FROM holder WHERE id = 1").get() as { pid: number; since: string } | undefined;
      return { ok: false, pid: row?.pid, since: row?.since };
    } finally {
      db.close();
    }
  } catch {
    return { ok: false, pid: undefined, since: undefined };
  }
}
