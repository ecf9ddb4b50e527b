/**
 * The loaded-snapshot cache: a member file parsed and typed once is kept as a DuckDB database under
 * `.chuda/cache/`, so the next `simulate`, `preview` or hover over the same file reads typed columns in place
 * instead of parsing text again.
 *
 * An entry is keyed by what decides the loaded table: the file (real path, size, modification time, inode),
 * the member schema of chuda.yaml, the fields loaded as presence only, the reading options, and this format's
 * version. Any change is a new key, so a stale entry is never read; old entries are removed oldest-used first
 * once the folder is over its size limit. An entry is two files: `<key>.duckdb` (tables `members` and
 * `rejected`) and `<key>.json` (counts, rejected groups, diagnostics), the JSON written last: an entry without
 * it is incomplete (a process killed while writing) and ignored. Simulate adds a third, `<key>.candidates.duckdb`
 * (CandidateStore, below).
 */
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { Project } from "../project/types.js";
import type { Snapshot } from "./snapshot.js";
import { literal } from "./sql.js";

/** Bumped whenever what an entry holds, or how a snapshot is loaded, changes. */
const CACHE_FORMAT = 3; // 2: values with a UTC offset converted to the project's zone; physical line numbers; 3: inf/NaN rejected

/** The default size limit of the cache folder: 4 GiB (`CHUDA_CACHE_MAX_MB` sets another). */
export const DEFAULT_CACHE_MAX_BYTES = 4 * 1024 ** 3;

export interface SnapshotCache {
  /** `.chuda/cache` of the project. */
  dir: string;
  maxBytes: number;
}

/** What is kept beside the tables: everything of a `Snapshot` that is not in DuckDB. */
export type CachedSummary = Pick<Snapshot, "count" | "rejected" | "rejectedTotal" | "missingFields" | "format" | "encoding" | "csvRead" | "diagnostics">;

export interface CacheKeyInput {
  file: string;
  label: string;
  project: Project;
  presenceOnly?: readonly string[];
  encoding?: string;
  strict?: boolean;
  tolerantOnly?: boolean;
}

export function snapshotCache(root: string, env: NodeJS.ProcessEnv = process.env): SnapshotCache {
  const mb = Number(env.CHUDA_CACHE_MAX_MB);
  return {
    dir: path.join(root, ".chuda", "cache"),
    maxBytes: Number.isFinite(mb) && mb >= 0 && env.CHUDA_CACHE_MAX_MB !== "" ? mb * 1024 ** 2 : DEFAULT_CACHE_MAX_BYTES,
  };
}

export function cacheKey(input: CacheKeyInput): string {
  const st = statSync(input.file);
  const schema = input.project.members;
  const described = {
    format: CACHE_FORMAT,
    file: realpathSync(input.file),
    size: st.size,
    mtimeMs: st.mtimeMs,
    ino: st.ino,
    label: input.label,
    key: schema.key,
    fields: [...schema.fields.entries()].map(([name, type]) => [name, JSON.stringify(type)]),
    distance: schema.distance ?? null,
    // Date-times with a UTC offset are read as local times of this zone.
    timezone: input.project.timezone,
    presenceOnly: [...(input.presenceOnly ?? [])].sort(),
    encoding: input.encoding ?? "auto",
    strict: !!input.strict,
    tolerantOnly: !!input.tolerantOnly,
  };
  return "members-" + createHash("sha256").update(JSON.stringify(described)).digest("hex").slice(0, 32);
}

function entryPaths(cache: SnapshotCache, key: string) {
  return { db: path.join(cache.dir, `${key}.duckdb`), meta: path.join(cache.dir, `${key}.json`) };
}

/**
 * Fills the (empty, in-memory) connection with the cached tables and returns the summary, or undefined when
 * there is no complete entry (or it cannot be read: the caller then loads the file as usual).
 */
export async function readCached(conn: DuckDBConnection, cache: SnapshotCache, key: string): Promise<CachedSummary | undefined> {
  const { db, meta } = entryPaths(cache, key);
  if (!existsSync(meta) || !existsSync(db)) return undefined;
  let summary: CachedSummary;
  try {
    summary = JSON.parse(readFileSync(meta, "utf8")) as CachedSummary;
  } catch {
    return undefined;
  }
  // The entry is read in place, not copied: it becomes the connection's default database (read only), so `members`
  // and `rejected` name its tables, and what the run creates goes to temporary tables as always.
  try {
    await conn.run(`ATTACH ${literal(db)} AS chuda_cache (READ_ONLY)`);
    try {
      await conn.runAndReadAll(`SELECT count(*) FROM chuda_cache.members`);
      await conn.runAndReadAll(`SELECT count(*) FROM chuda_cache.rejected`);
      await conn.run(`USE chuda_cache`);
    } catch (e) {
      await conn.run(`DETACH chuda_cache`);
      throw e;
    }
  } catch {
    return undefined;
  }
  // The JSON's modification time is the entry's last use (eviction removes the least recently used first).
  const now = new Date();
  try {
    utimesSync(meta, now, now);
  } catch {}
  return summary;
}

/**
 * Writes the connection's `members` and `rejected` tables as an entry (a temporary name, renamed when whole),
 * then trims the folder to its limit. A failure to write (a full disk, a read-only folder) only means no entry.
 */
export async function writeCached(conn: DuckDBConnection, cache: SnapshotCache, key: string, summary: CachedSummary): Promise<boolean> {
  const { db, meta } = entryPaths(cache, key);
  const tmp = path.join(cache.dir, `.${key}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    // Member data, as private as the snapshot itself: readable by the owner only.
    mkdirSync(cache.dir, { recursive: true, mode: 0o700 });
    await conn.run(`ATTACH ${literal(tmp)} AS chuda_cache_out`);
    try {
      await conn.run(`CREATE TABLE chuda_cache_out.members AS SELECT * FROM members`);
      await conn.run(`CREATE TABLE chuda_cache_out.rejected AS SELECT * FROM rejected`);
    } finally {
      await conn.run(`DETACH chuda_cache_out`);
    }
    chmodSync(tmp, 0o600);
    renameSync(tmp, db);
    writeFileSync(`${meta}.tmp`, JSON.stringify(summary), { mode: 0o600 });
    renameSync(`${meta}.tmp`, meta);
  } catch {
    for (const leftover of [tmp, `${tmp}.wal`, `${meta}.tmp`])
      try {
        rmSync(leftover, { force: true });
      } catch {}
    return false;
  }
  trimCache(cache, key);
  return true;
}

/** Removes entries, least recently used first, until the folder is within its limit (never the one just written). */
export function trimCache(cache: SnapshotCache, keep?: string): void {
  let names: string[];
  try {
    names = readdirSync(cache.dir);
  } catch {
    return;
  }
  const entries = new Map<string, { used: number; bytes: number }>();
  let total = 0;
  for (const name of names) {
    const match = /^(members-[0-9a-f]+)\.(duckdb|json|candidates\.duckdb|candidates\.duckdb\.wal)$/.exec(name);
    let st;
    try {
      st = statSync(path.join(cache.dir, name));
    } catch {
      continue;
    }
    total += st.size;
    if (!match) continue;
    const entry = entries.get(match[1]!) ?? { used: 0, bytes: 0 };
    entry.bytes += st.size;
    if (match[2] === "json") entry.used = st.mtimeMs;
    entries.set(match[1]!, entry);
  }
  const order = [...entries.entries()].filter(([k]) => k !== keep).sort((a, b) => a[1].used - b[1].used);
  for (const [k, entry] of order) {
    if (total <= cache.maxBytes) break;
    const { db, meta } = entryPaths(cache, k);
    rmSync(meta, { force: true });
    rmSync(db, { force: true });
    for (const kept of [`${k}.candidates.duckdb`, `${k}.candidates.duckdb.wal`]) rmSync(path.join(cache.dir, kept), { force: true });
    total -= entry.bytes;
  }
}

/** Candidate tables kept per snapshot entry at the most (least recently used dropped first). */
const MAX_KEPT_CANDIDATES = 48;

/**
 * The candidate tables of campaigns planned over one cached snapshot, kept in `<key>.candidates.duckdb` beside the
 * entry (the planner's `CandidateCache`). Candidates name members by row number, so they are kept only over a
 * table numbered as every cached read numbers it: read from the cache, or loaded with its keys checked and no row
 * removed (the snapshot decides). Another process holding the file (a second `simulate` at the same moment) means no
 * kept candidates for this one, nothing worse.
 */
export class CandidateStore {
  private constructor(private readonly conn: DuckDBConnection) {}

  static async open(conn: DuckDBConnection, cache: SnapshotCache, key: string): Promise<CandidateStore | undefined> {
    const file = path.join(cache.dir, `${key}.candidates.duckdb`);
    try {
      mkdirSync(cache.dir, { recursive: true, mode: 0o700 });
      await conn.run(`ATTACH ${literal(file)} AS chuda_candidates`);
      chmodSync(file, 0o600);
      await conn.run(`CREATE TABLE IF NOT EXISTS chuda_candidates.kept (key VARCHAR PRIMARY KEY, used DOUBLE)`);
      return new CandidateStore(conn);
    } catch {
      await conn.run(`DETACH DATABASE IF EXISTS chuda_candidates`).catch(() => undefined);
      return undefined;
    }
  }

  async take(key: string, table: string): Promise<boolean> {
    try {
      const found = await this.conn.runAndReadAll(`SELECT 1 FROM chuda_candidates.kept WHERE key = ${literal(key)}`);
      if (!found.getRows().length) return false;
      await this.conn.run(`CREATE OR REPLACE TEMP TABLE ${table} AS SELECT * FROM chuda_candidates.${key}`);
      await this.conn.run(`UPDATE chuda_candidates.kept SET used = ${Date.now()} WHERE key = ${literal(key)}`);
      return true;
    } catch {
      return false;
    }
  }

  async keep(key: string, table: string): Promise<void> {
    try {
      await this.conn.run(`CREATE OR REPLACE TABLE chuda_candidates.${key} AS SELECT * FROM ${table}`);
      await this.conn.run(`INSERT OR REPLACE INTO chuda_candidates.kept VALUES (${literal(key)}, ${Date.now()})`);
      const old = await this.conn.runAndReadAll(`SELECT key FROM chuda_candidates.kept ORDER BY used DESC OFFSET ${MAX_KEPT_CANDIDATES}`);
      for (const [k] of old.getRows() as [string][]) {
        await this.conn.run(`DELETE FROM chuda_candidates.kept WHERE key = ${literal(k)}`);
        await this.conn.run(`DROP TABLE IF EXISTS chuda_candidates.${k}`);
      }
    } catch {
      await this.conn.run(`DELETE FROM chuda_candidates.kept WHERE key = ${literal(key)}`).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.conn.run(`DETACH DATABASE IF EXISTS chuda_candidates`).catch(() => undefined);
  }
}
