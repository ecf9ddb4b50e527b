/**
 * Loading a member snapshot into embedded DuckDB, typed by the member schema of chuda.yaml.
 *
 * The file is parsed once, in parallel, as text (CSV `all_varchar`, JSON Lines as text/JSON, Parquet as
 * stored) and converted by one `CREATE TABLE members AS SELECT …` with TRY_CAST: every later query of the
 * planner hits that typed table, never the file. Rows that do not fit the schema are not loaded:
 *
 * - malformed CSV lines (wrong column count, bad quoting, invalid UTF-8), from DuckDB's rejects table;
 * - rows without a key, rows with a value that does not fit its field (bad number, bool, date, date-time,
 *   unknown enum value);
 * - duplicate keys: the first row of a key (among rows that are otherwise valid) is kept, later ones rejected.
 *
 * Dates and date-times are local time in the project's `timezone`; one written with a UTC offset (`…Z`,
 * `…+08:00`) is an instant, stored as its local time there (DuckDB's built-in ICU zones, with their history).
 *
 * Line numbers: DuckDB's parallel reader does not keep file order, so when (and only when) a file has
 * rejected values or duplicate keys, a second, ordered scan (`row_number() OVER ()`) locates them. A line
 * number is the physical line of the source file where the row starts (CSV header = line 1; line breaks inside
 * quoted cells and blank lines counted: `fileLines` reads the file as far as the last rejected row, only when
 * there is one); JSON Lines and Parquet count records from 1, a database's rows (`recordNumbers`) too.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { open as openFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { createDuckDB } from "./duckdb.js";
import type { FieldType, MemberSchema, Project } from "../project/types.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { diag } from "../diagnostics/diag.js";
import { MESSAGES } from "../diagnostics/messages/index.js";
import { pointSpan } from "../diagnostics/span.js";
import { detectEncoding, transcodeGbkToUtf8, type SnapshotEncoding } from "./encoding.js";
import { escapeGlob, ident, literal, looksLikeGlob } from "./sql.js";
import { cleanListSql, normalizedListSql } from "./list-text.js";
import { CandidateStore, cacheKey, readCached, writeCached, type CachedSummary, type SnapshotCache } from "./cache.js";

export type SnapshotFormat = "csv" | "jsonl" | "parquet";

export type RejectKind = "malformed" | "missing_key" | "duplicate_key" | "bad_value";

export interface RejectedGroup {
  kind: RejectKind;
  /** The field whose value did not fit (kind `bad_value`). */
  field?: string;
  /** One line for people: "`birthday` is not a date (YYYY-MM-DD)". */
  reason: string;
  count: number;
  /** The first few (at most 5) source line numbers, ascending. */
  lines: number[];
}

export interface Snapshot {
  db: DuckDBInstance;
  conn: DuckDBConnection;
  /** The typed table: one column per schema field, named and typed by the schema. */
  table: "members";
  /** Loaded (accepted) members. */
  count: number;
  /** Rejected rows by reason, largest group first. Also in the `rejected` table (line, kind, field, reason). */
  rejected: RejectedGroup[];
  rejectedTotal: number;
  /** Schema fields the file does not have: all-NULL columns. */
  missingFields: string[];
  format: SnapshotFormat;
  /** CSV only: the encoding read (detected or given). */
  encoding?: SnapshotEncoding;
  /** CSV only: whether the strict first read loaded the file, or it was read again the tolerant way. */
  csvRead?: "strict" | "tolerant";
  /**
   * Only with `deferKeyCheck` (and a file with no other problem): the duplicate-key check still to run. `run`
   * (on a connection of its own, so it may overlap other queries) says whether every key is unique; if not,
   * `repair` (when nothing else uses the snapshot) removes the duplicates and updates count, rejected and
   * diagnostics, exactly as a load without deferral would have.
   */
  keyCheck?: { run(): Promise<boolean>; repair(): Promise<void> };
  /** Warnings (errors with `strict`) about rejected rows and missing columns, spans pointing into the file. */
  diagnostics: Diagnostic[];
  /** Read from the snapshot cache (`.chuda/cache`) instead of the file. */
  cached: boolean;
  /** With the snapshot cache: the campaigns' candidate tables kept beside the entry (opened on first use). */
  candidates?: () => Promise<CandidateStore | undefined>;
  close(): Promise<void>;
}

export interface OpenSnapshotOptions {
  encoding?: "utf-8" | "gbk" | "auto";
  /** Rejected rows and missing columns become errors (the caller fails the run on them). */
  strict?: boolean;
  onProgress?: (fraction: number) => void;
  /** DuckDB `memory_limit`, e.g. "3GB". */
  memoryLimit?: string;
  /** How diagnostics name the file (default: the path as given). */
  label?: string;
  /** DuckDB threads (default: the machine's cores). */
  threads?: number;
  /** Leave the duplicate-key check to the caller (`Snapshot.keyCheck`), to run it while DuckDB is idle. */
  deferKeyCheck?: boolean;
  /** CSV: skip the strict first read (tests compare both ways of reading). */
  tolerantOnly?: boolean;
  /**
   * Text fields the caller only tests for presence (a channel address nobody reads, in a simulation): stored
   * as a one-character mark that keeps NULL and '' apart from any other value, instead of the text itself.
   */
  presenceOnly?: readonly string[];
  /** Reuse (and keep) the loaded table under `.chuda/cache` (see cache.ts). */
  cache?: SnapshotCache;
  /** Rejected rows are numbered by record from 1 (the rows of a database query, exported to CSV), not by file line. */
  recordNumbers?: boolean;
  /**
   * CSV: the first (strict) read takes the rows from this pipe while they are still being written to the file (a
   * database export, see database.ts). `whole` is called when that read is over, whatever its outcome, and
   * resolves when the file is complete: every later read takes the file.
   */
  stream?: { pipe: string; whole(): Promise<void> };
}

/** A snapshot, or (for a file that cannot be read at all) only error diagnostics. Never throws for user input. */
export interface OpenSnapshotResult {
  snapshot?: Snapshot;
  diagnostics: Diagnostic[];
}

export function snapshotFormat(file: string): SnapshotFormat | undefined {
  const ext = path.extname(file).toLowerCase();
  if (ext === ".csv" || ext === ".txt") return "csv";
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  if (ext === ".parquet") return "parquet";
  return undefined;
}

/** The DuckDB column type of a schema field. */
export function sqlType(t: FieldType): string {
  switch (t.kind) {
    case "number":
      return "DOUBLE";
    case "bool":
      return "BOOLEAN";
    case "date":
      return "DATE";
    case "datetime":
      return "TIMESTAMP";
    case "list":
      return "VARCHAR"; // items joined by `;`: see list-text.ts
    case "string":
    case "phone":
    case "enum":
      return "VARCHAR";
  }
}

const MAX_LINES = 5;

/**
 * Temporary directories of open snapshots (a decoded GBK copy, DuckDB's spill files). Removed when the snapshot is
 * closed, and by an exit hook on every other way out of the process (an error, a signal handled by process.exit).
 */
const liveTempDirs = new Set<string>();
let exitHook = false;
function removeLiveTempDirs(): void {
  for (const dir of liveTempDirs) rmSync(dir, { recursive: true, force: true });
  liveTempDirs.clear();
}

/** Why a snapshot file cannot be read at all (not a format chuda reads, missing, not a file), without reading it. */
export function snapshotFileProblem(file: string, label = file): Diagnostic | undefined {
  const span = pointSpan(label, 1);
  if (!snapshotFormat(file)) return diag(MESSAGES.membersUnsupportedFormat, span, [label]);
  try {
    if (!statSync(file).isFile()) return diag(MESSAGES.membersCannotRead, span, [label, "not a file"]);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    // The path is read as written: a pattern is not expanded, and says so rather than "no such file" alone.
    const why =
      code === "ENOENT" && looksLikeGlob(label) ? "no such file (the path is read as written: `*`, `?` and `[…]` are not expanded; give one file)" : code;
    return diag(MESSAGES.membersCannotRead, span, [label, why]);
  }
  return undefined;
}

export async function openSnapshot(file: string, project: Project, opts: OpenSnapshotOptions = {}): Promise<OpenSnapshotResult> {
  const label = opts.label ?? file;
  const span = (line = 1) => pointSpan(label, line);
  const problem = snapshotFileProblem(file, label);
  if (problem) return { diagnostics: [problem] };
  const format = snapshotFormat(file)!;

  if (!exitHook) {
    exitHook = true;
    process.on("exit", removeLiveTempDirs);
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), "chuda-members-"));
  liveTempDirs.add(tmp);
  const cleanup = () => {
    liveTempDirs.delete(tmp);
    rmSync(tmp, { recursive: true, force: true });
  };
  const progress = opts.onProgress ?? (() => {});
  const threads = opts.threads ?? Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const config: Record<string, string> = { threads: String(threads), temp_directory: path.join(tmp, "spill") };
  if (opts.memoryLimit) config.memory_limit = opts.memoryLimit;
  const db = await createDuckDB(":memory:", config);
  const conn = await db.connect();
  let closed = false;
  // Whether the table is final: read from the cache, or loaded with its keys known unique (or repaired).
  let settled = false;
  let store: Promise<CandidateStore | undefined> | undefined;
  const close = async () => {
    if (closed) return;
    closed = true;
    await (await store)?.close();
    conn.closeSync();
    db.closeSync();
    cleanup();
  };
  const key = opts.cache
    ? cacheKey({ file, label, project, presenceOnly: opts.presenceOnly, encoding: opts.encoding, strict: opts.strict, tolerantOnly: opts.tolerantOnly })
    : "";
  const cache = opts.cache;
  // Kept candidates name members by row number, as every read from the cache numbers them (densely, in order). A
  // loaded table is numbered alike only while no row was removed from it (a rejected row or a duplicate key leaves a
  // gap): then the candidates wait for the next run, read from the cache.
  let dense: Promise<boolean> | undefined;
  const numberedAsCached = async () =>
    (dense ??= conn
      .runAndReadAll(`SELECT count(*) = COALESCE(max(rowid), -1) + 1 FROM members`)
      .then((r) => r.getRows()[0]![0] === true)
      .catch(() => false));
  const candidates = cache ? async () => (settled && (await numberedAsCached()) ? (store ??= CandidateStore.open(conn, cache, key)) : undefined) : undefined;
  if (cache) {
    const cached = await readCached(conn, cache, key);
    if (cached) {
      progress(1);
      settled = true;
      dense = Promise.resolve(true);
      return { snapshot: { db, conn, table: "members", ...cached, close, cached: true, candidates }, diagnostics: cached.diagnostics };
    }
  }
  let source = file;
  let encoding: SnapshotEncoding | undefined;
  let loadStart = 0;
  if (format === "csv") {
    encoding = opts.encoding === "utf-8" || opts.encoding === "gbk" ? opts.encoding : await detectEncoding(file);
    if (encoding === "gbk") {
      const size = statSync(file).size || 1;
      source = path.join(tmp, "snapshot.utf8.csv");
      try {
        await transcodeGbkToUtf8(file, source, (n) => progress((0.4 * n) / size));
      } catch (e) {
        await close();
        return { diagnostics: [diag(MESSAGES.membersCannotRead, span(), [label, (e as Error).message])] };
      }
      loadStart = 0.4;
    }
  }

  // Written when the snapshot is closed, once its keys are known to be unique (or repaired): the table is final.
  const closeAndKeep = async (snapshot: Snapshot) => {
    if (opts.cache && settled && !closed) {
      const { count, rejected, rejectedTotal, missingFields, format, encoding, csvRead, diagnostics } = snapshot;
      const summary: CachedSummary = { count, rejected, rejectedTotal, missingFields, format, encoding, csvRead, diagnostics };
      await writeCached(conn, opts.cache, key, summary);
    }
    await close();
  };
  try {
    const result = await load(db, conn, source, format, project.members, {
      ...opts,
      timezone: project.timezone,
      label,
      strict: !!opts.strict,
      progress,
      loadStart,
      threads,
    });
    if ("error" in result) {
      await close();
      return { diagnostics: [result.error] };
    }
    progress(1);
    const { keyCheck, ...loaded } = result;
    const snapshot: Snapshot = { db, conn, table: "members", ...loaded, format, close: () => closeAndKeep(snapshot), cached: false, candidates };
    settled = !keyCheck;
    if (keyCheck)
      snapshot.keyCheck = {
        run: async () => {
          const unique = await keyCheck.run();
          if (unique) settled = true;
          return unique;
        },
        repair: async () => {
          const { count, rejected, rejectedTotal, diagnostics } = await keyCheck.repair();
          Object.assign(snapshot, { count, rejected, rejectedTotal, diagnostics });
          delete snapshot.keyCheck;
          settled = true;
          dense = undefined;
        },
      };
    if (encoding) snapshot.encoding = encoding;
    return { snapshot, diagnostics: result.diagnostics };
  } catch (e) {
    await close();
    const what = format === "csv" ? "CSV" : format === "jsonl" ? "JSON Lines" : "Parquet";
    return { diagnostics: [diag(MESSAGES.membersUnparsable, span(), [label, firstLine((e as Error).message), what])] };
  }
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.trim();
}

type Loaded = Pick<Snapshot, "count" | "rejected" | "rejectedTotal" | "missingFields" | "diagnostics" | "csvRead"> & {
  keyCheck?: { run(): Promise<boolean>; repair(): Promise<Loaded> };
};

interface LoadOptions {
  /** The project's IANA time zone: date-times with a UTC offset become local time there. */
  timezone: string;
  deferKeyCheck?: boolean;
  threads: number;
  tolerantOnly?: boolean;
  presenceOnly?: readonly string[];
  recordNumbers?: boolean;
  stream?: { pipe: string; whole(): Promise<void> };
  label: string;
  strict: boolean;
  progress: (fraction: number) => void;
  loadStart: number;
}

/**
 * How a source column arrives: text, JSON (JSON Lines list fields), a native Parquet type, or (CSV, strict
 * first pass) already typed by DuckDB's CSV reader.
 */
type RawKind = "varchar" | "json" | "native" | "list" | "typed";

interface Column {
  field: string;
  type: FieldType;
  /** Only its presence is kept (see `presenceOnly`). */
  presence?: boolean;
  /** The source column, or undefined when the file lacks it. */
  source?: string;
  raw: RawKind;
  /** Parquet (`raw` native): the column's DuckDB type. */
  native?: string;
}

/**
 * The source relation for a file, given which schema columns it has and how to read them. `strict` (CSV):
 * the reader itself types the columns marked `typed` and any error (a value that does not parse, a malformed
 * line) fails the statement.
 */
function relation(file: string, format: SnapshotFormat, columns: Column[], store: "rejects" | "ignore" | "strict", header?: string[]): string {
  const f = literal(escapeGlob(file)); // read as written, never as a pattern
  if (format === "csv") {
    if (store === "strict") return `read_csv(${f}, ${csvOptions(header!, columns)})`;
    // The second (ordered) scan stores its rejects apart, so both scans skip exactly the same lines.
    const rejects =
      store === "rejects"
        ? "store_rejects = true, rejects_table = 'csv_rejects', rejects_scan = 'csv_scans'"
        : "store_rejects = true, rejects_table = 'csv_rejects_again', rejects_scan = 'csv_scans_again'";
    return `read_csv(${f}, ${csvOptions(header!)}, ${rejects})`;
  }
  if (format === "jsonl") {
    const cols = columns
      .filter((c) => c.source !== undefined)
      .map((c) => `${literal(c.source!)}: ${c.raw === "json" ? "'JSON'" : "'VARCHAR'"}`)
      .join(", ");
    return `read_json(${f}, format = 'newline_delimited', ignore_errors = true, columns = {${cols || "'__none': 'VARCHAR'"}})`;
  }
  return `read_parquet(${f})`;
}

/**
 * CSV reading options: no sniffing (a broken line must not stop the scan), the header's names as given (read
 * by `csvHeader`), every column text except those `typed` (read by the reader as their schema type).
 */
function csvOptions(header: string[], columns: Column[] = []): string {
  const typed = new Map(columns.filter((c) => c.raw === "typed").map((c) => [c.source!, sqlType(c.type)]));
  const cols = header.map((h) => `${literal(h)}: '${typed.get(h) ?? "VARCHAR"}'`).join(", ");
  return `auto_detect = false, header = true, delim = ',', quote = '"', escape = '"', columns = {${cols}}, max_line_size = 10000000`;
}

/** The header line of a CSV file, split into names (quotes honoured; BOM and CR dropped; duplicates suffixed). */
export async function csvHeader(file: string): Promise<string[]> {
  const fh = await openFile(file, "r");
  let text = "";
  try {
    const buf = Buffer.alloc(1 << 16);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      const nl = chunk.indexOf(10);
      text += chunk.subarray(0, nl < 0 ? bytesRead : nl).toString("utf8");
      if (nl >= 0 || text.length > 1 << 20) break;
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
  text = text.replace(/^\uFEFF/, "").replace(/\r$/, "");
  const names: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      names.push(cur);
      cur = "";
    } else cur += ch;
  }
  names.push(cur);
  const seen = new Map<string, number>();
  return names.map((raw, i) => {
    const n = raw.trim() || `column${i + 1}`;
    const k = seen.get(n) ?? 0;
    seen.set(n, k + 1);
    return k ? `${n}_${k + 1}` : n;
  });
}

/** Where CSV records start, as `fileLines` finds them. */
export interface FileLines {
  /**
   * [record, delta], by record: from that record on, a record starts on line record + delta (until the next entry).
   * Records are numbered as DuckDB numbers malformed lines: the header is 1, a blank line is one, a quoted line
   * break is not. Starts with [1, 0]; an entry follows each record that spans several lines.
   */
  breaks: [number, number][];
  /** Blank lines (records that are not rows), unless the file has one column (then DuckDB reads them as rows). */
  blanks: number[];
}

/**
 * Reads a CSV file the way DuckDB splits it into records (`"` quotes a value that starts with it, after spaces;
 * `""` inside is a quote; LF, CRLF or CR line ends) to find the line each record starts on. Stops after the record
 * `until.rec` and after `until.rows` records that are not blank (rows and malformed lines): run only for files with
 * rejected rows, as far as the last of them. Costs about a tenth of a second per hundred megabytes.
 */
export async function fileLines(file: string, until: { rec: number; rows: number }, oneColumn: boolean, chunk = 1 << 20): Promise<FileLines> {
  const breaks: [number, number][] = [[1, 0]];
  const blanks: number[] = [];
  const fh = await openFile(file, "r");
  try {
    // A BOM is skipped; line ends are CR alone (old Mac files) when the first CR is not followed by LF and comes
    // before any LF (in the first 64 kB).
    const head = Buffer.alloc(1 << 16);
    const h = head.subarray(0, (await fh.read(head, 0, head.length, 0)).bytesRead);
    const bom = h.length >= 3 && h[0] === 0xef && h[1] === 0xbb && h[2] === 0xbf ? 3 : 0;
    const cr = h.indexOf(13, bom);
    const lf = h.indexOf(10, bom);
    const nl = cr >= 0 && (lf < 0 || cr < lf) && cr + 1 < h.length && h[cr + 1] !== 10 ? 13 : 10;
    const buf = Buffer.alloc(chunk);
    let base = bom; // file offset of buf[0]
    let rec = 1; // the record being read
    let line = 1; // the line being read
    let delta = 0;
    let recStart = bom; // file offset where the record began
    let rows = 0; // records after the header that are not blank, ended so far
    let quoted = false;
    let quoteAtEnd = false; // quoted, and the last chunk ended with a quote: closing, or the first of `""`
    let significant = nl; // the last byte before this chunk that is not a space
    let lastByte = -1; // the last byte of the previous chunk
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, chunk, base);
      if (bytesRead === 0) break;
      const b = bytesRead === chunk ? buf : buf.subarray(0, bytesRead);
      const len = bytesRead;
      let p = 0;
      if (quoteAtEnd) {
        quoteAtEnd = false;
        if (b[0] === 34) p = 1;
        else quoted = false;
      }
      let q = b.indexOf(34, p); // the next quote at or after p (-1: none in this chunk)
      let n = b.indexOf(nl, p); // the next line end at or after p
      while (p < len) {
        if (q >= 0 && q < p) q = b.indexOf(34, p);
        if (n >= 0 && n < p) n = b.indexOf(nl, p);
        if (quoted) {
          const end = q < 0 ? len : q;
          while (n >= 0 && n < end) {
            line++;
            n = b.indexOf(nl, n + 1);
          }
          if (q < 0) break;
          if (q + 1 === len) {
            quoteAtEnd = true;
            break;
          }
          if (b[q + 1] === 34) p = q + 2;
          else {
            quoted = false;
            p = q + 1;
          }
          continue;
        }
        if (q >= 0 && (n < 0 || q < n)) {
          // A quote opens a quoted value only at its start: after the delimiter or the line end, and spaces.
          let k = q - 1;
          while (k >= 0 && b[k] === 32) k--;
          const before = k >= 0 ? b[k] : significant;
          if (before === 44 || before === nl) quoted = true;
          p = q + 1;
          continue;
        }
        if (n < 0) break;
        // The record ends at n.
        const at = base + n;
        const blank = at === recStart || (at === recStart + 1 && nl === 10 && (n > 0 ? b[n - 1] : lastByte) === 13);
        if (rec > 1) {
          if (blank && !oneColumn) blanks.push(rec);
          else rows++;
        }
        rec++;
        line++;
        recStart = at + 1;
        p = n + 1;
        if (line - rec !== delta) breaks.push([rec, (delta = line - rec)]);
        if (rec > until.rec && rows >= until.rows) return { breaks, blanks };
      }
      let k = len - 1;
      while (k >= 0 && b[k] === 32) k--;
      if (k >= 0) significant = b[k]!;
      lastByte = b[len - 1]!;
      base += len;
    }
    return { breaks, blanks };
  } finally {
    await fh.close();
  }
}

/** Column names (and DuckDB types) of the file. */
async function describe(conn: DuckDBConnection, file: string, format: SnapshotFormat, header?: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (format === "csv") {
    for (const h of header!) out.set(h, "VARCHAR");
    return out;
  }
  const f = literal(escapeGlob(file)); // read as written, never as a pattern
  const rel = format === "jsonl" ? `read_json(${f}, format = 'newline_delimited', ignore_errors = true)` : `read_parquet(${f})`;
  const res = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${rel}`);
  for (const row of res.getRowsJS()) out.set(String(row[0]), String(row[1]));
  return out;
}

const BOOL_WORDS: [string, boolean][] = [
  ["true", true],
  ["1", true],
  ["yes", true],
  ["y", true],
  ["是", true],
  ["false", false],
  ["0", false],
  ["no", false],
  ["n", false],
  ["否", false],
];

/**
 * How the project's time zone turns an instant into its local time, in SQL (DuckDB's ICU time zones, built into
 * this DuckDB: no download). `tail` is a range of instants (µs since the epoch, UTC) over which the zone keeps one
 * offset (Asia/Shanghai since 1991): there the local time is plain arithmetic instead of an ICU call per value.
 */
export interface ZoneSql {
  tz: string;
  tail?: { from: bigint; to: bigint; offset: bigint };
}

const DAY_US = 86_400_000_000n;

/**
 * The zone's offset at every UTC midnight from 1970 to 2100, by DuckDB's own ICU data (so both ways of converting
 * agree): from the day after the last change on, the offset is taken as constant (no zone changes its offset twice
 * within a day). Zones still changing (daylight saving time) get no tail worth having.
 */
export async function zoneSql(conn: DuckDBConnection, tz: string): Promise<ZoneSql> {
  const from = BigInt(Date.UTC(1970, 0, 1)) * 1000n;
  const to = BigInt(Date.UTC(2100, 0, 1)) * 1000n;
  const res = await conn.runAndReadAll(
    `WITH s AS (SELECT d, epoch_us(timezone(${literal(tz)}, make_timestamptz(d))) - d AS off FROM range(${from}, ${to}, ${DAY_US}) t(d)),
       l AS (SELECT arg_max(off, d) AS off, max(d) AS last FROM s)
     SELECT l.off, l.last, (SELECT max(d) FROM s WHERE s.off <> l.off) FROM l`,
  );
  const [off, last, changed] = res.getRowsJS()[0]! as [bigint, bigint, bigint | null];
  const start = changed === null ? from : changed + DAY_US;
  // A tail shorter than a year (a zone with daylight saving time) is not worth the extra SQL.
  if (last - start < 365n * DAY_US) return { tz };
  return { tz, tail: { from: start, to: last, offset: off } };
}

/** `zoneSql`, once a process for each zone (the same DuckDB, the same data). A zone DuckDB lacks gets no tail. */
const zones = new Map<string, Promise<ZoneSql>>();
function zoneOf(conn: DuckDBConnection, tz: string): Promise<ZoneSql> {
  let z = zones.get(tz);
  if (!z) zones.set(tz, (z = zoneSql(conn, tz).catch(() => ({ tz }))));
  return z;
}

/** SQL: the local time (TIMESTAMP) in the zone of an instant given as µs since the epoch (BIGINT, UTC). */
function localOfMicros(zone: ZoneSql, us: string): string {
  const icu = (u: string) => `timezone(${literal(zone.tz)}, make_timestamptz(${u}))`;
  if (!zone.tail) return icu(us);
  const { from, to, offset } = zone.tail;
  return `list_transform([${us}], lambda _chuda_us: CASE WHEN _chuda_us >= ${from} AND _chuda_us < ${to} THEN make_timestamp(_chuda_us + ${offset}) ELSE ${icu("_chuda_us")} END)[1]`;
}

/**
 * A date-time with a UTC offset after the time: `Z`, `UTC` or ±HH, ±HHMM, ±HH:MM (±HH:MM:SS), with or without a
 * space before it; `T` or spaces between date and time; seconds and fractions optional. Groups: the local part,
 * the offset's sign, hours, minutes, seconds (no sign: zero). Offsets are at most 18 hours.
 */
const ZONED = String.raw`^\s*([^:]*?\d(?:T|\s+)\d{1,2}:\d{1,2}(?::\d{1,2})?(?:\.\d*)?)\s*(?:[zZ]|[uU][tT][cC]|([+-])(0\d|1[0-8])(?::?([0-5]\d))?(?::?([0-5]\d))?)\s*$`;
/** The same forms that DuckDB's own TIMESTAMPTZ cast reads (seconds present, the offset right after them): faster. */
const ZONED_NATIVE = String.raw`^ *\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{1,2}:\d{1,2}(?:\.\d*)?(?:Z|[+-](?:0\d|1[0-8])(?::[0-5]\d(?::[0-5]\d)?|[0-5]\d)?) *$`;

/**
 * SQL: whether text may hold a UTC offset (cheap, tested on every value; no false negatives). Every offset has one
 * of `+ Z z U u` (`UTC`), or a `-` after the time's `:`. DuckDB's casts read `Z`, `±HH[:MM]` and ` UTC` and drop
 * them: a value that passes here is read by `utcMicrosSql` instead, never by a plain cast.
 */
function mayHaveOffsetSql(r: string): string {
  return `(contains(${r}, '+') OR contains(${r}, 'Z') OR contains(${r}, 'z') OR contains(${r}, 'U') OR contains(${r}, 'u') OR ${r} LIKE '%:%-%')`;
}

/** SQL: the instant (µs since the epoch, UTC) of a date-time text with a UTC offset; NULL for any other text. */
function utcMicrosSql(r: string): string {
  const parts = `regexp_extract(${r}, ${literal(ZONED)}, ['l', 's', 'h', 'm', 'x'])`;
  const num = (g: string) => `COALESCE(TRY_CAST(_chuda_m.${g} AS BIGINT), 0)`;
  const offsetSeconds = `(CASE _chuda_m.s WHEN '-' THEN -1 ELSE 1 END) * (${num("h")} * 3600 + ${num("m")} * 60 + ${num("x")})`;
  const parsed = `list_transform([${parts}], lambda _chuda_m: epoch_us(TRY_CAST(_chuda_m.l AS TIMESTAMP)) - ${offsetSeconds} * 1000000)[1]`;
  return `CASE WHEN regexp_matches(${r}, ${literal(ZONED_NATIVE)}) THEN epoch_us(TRY_CAST(${r} AS TIMESTAMPTZ)) WHEN regexp_matches(${r}, ${literal(ZONED)}) THEN ${parsed} END`;
}

/**
 * The typed value of a column and its "does not fit" condition, over `r` (the raw source value).
 * Blank cells (empty or only spaces) are missing, never bad. A date-time with a UTC offset is an instant: it becomes
 * the local time (a date: the local date) in the project's zone; one without is local time already.
 */
function convert(c: Column, r: string, t: string, zone: ZoneSql): { typed: string; bad: string | undefined } {
  const type = c.type;
  if (c.raw === "typed")
    // DuckDB's reader takes `inf` and `nan` for numbers: no member has infinite points.
    return type.kind === "number" ? { typed: finite(r), bad: `${r} IS NOT NULL AND NOT isfinite(${r})` } : { typed: r, bad: undefined };
  if (c.presence) return { typed: `CASE WHEN ${r} IS NULL THEN NULL WHEN CAST(${r} AS VARCHAR) = '' THEN '' ELSE '+' END`, bad: undefined };
  const notBlank = `${r} IS NOT NULL AND ${t} IS NULL AND trim(CAST(${r} AS VARCHAR)) <> ''`;
  if (c.raw === "native") {
    // Parquet: a native value converts directly (an instant to the zone's local time); text-like fields read its text.
    switch (type.kind) {
      case "date":
      case "datetime":
        if (c.native === "TIMESTAMP WITH TIME ZONE") {
          const local = localOfMicros(zone, `epoch_us(${r})`);
          return { typed: type.kind === "date" ? `CAST(${local} AS DATE)` : local, bad: `${r} IS NOT NULL AND ${t} IS NULL` };
        }
        return { typed: `TRY_CAST(${r} AS ${sqlType(type)})`, bad: `${r} IS NOT NULL AND ${t} IS NULL` };
      case "number":
        return { typed: finite(`TRY_CAST(${r} AS DOUBLE)`), bad: `${r} IS NOT NULL AND ${t} IS NULL` };
      case "bool":
        return { typed: `TRY_CAST(${r} AS ${sqlType(type)})`, bad: `${r} IS NOT NULL AND ${t} IS NULL` };
      default:
        return convert({ ...c, raw: "varchar" }, `CAST(${r} AS VARCHAR)`, t, zone);
    }
  }
  switch (type.kind) {
    case "string":
    case "phone":
      return { typed: r, bad: undefined };
    case "number":
      return { typed: finite(`COALESCE(TRY_CAST(${r} AS DOUBLE), TRY_CAST(replace(trim(${r}), ',', '') AS DOUBLE))`), bad: notBlank };
    case "bool": {
      const lowerCases = BOOL_WORDS.map(([w, v]) => `WHEN ${literal(w)} THEN ${v ? "TRUE" : "FALSE"}`).join(" ");
      return { typed: `CASE ${r} WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE ELSE CASE lower(trim(${r})) ${lowerCases} END END`, bad: notBlank };
    }
    case "date": {
      // A date with a time and an offset is the local date of that instant; any other text is read as before. Most
      // cells are a plain `YYYY-MM-DD` (ten characters: no room for a time): cast at once.
      const zoned = `COALESCE(CAST(${localOfMicros(zone, utcMicrosSql(r))} AS DATE), TRY_CAST(${r} AS DATE))`;
      return {
        typed: `CASE WHEN ${r} LIKE '____-__-__' THEN TRY_CAST(${r} AS DATE) WHEN contains(${r}, ':') AND ${mayHaveOffsetSql(r)} THEN ${zoned} ELSE TRY_CAST(${r} AS DATE) END`,
        bad: notBlank,
      };
    }
    case "datetime":
      // Text with no offset is local time as written; text that may have one is read only with an offset we know.
      // Most cells are `YYYY-MM-DD HH:MM:SS` (or with a `T`), where an offset has no room but for a `Z` after a
      // one-digit second: cast at once.
      return {
        typed: `CASE WHEN ${r} LIKE '____-__-_____:__:__' AND NOT ends_with(${r}, 'Z') AND NOT ends_with(${r}, 'z') THEN TRY_CAST(${r} AS TIMESTAMP)
          WHEN ${mayHaveOffsetSql(r)} THEN ${localOfMicros(zone, utcMicrosSql(r))} ELSE TRY_CAST(${r} AS TIMESTAMP) END`,
        bad: notBlank,
      };
    case "enum": {
      const exact = type.values.map(literal).join(", ");
      const loose = type.values.map((v) => `WHEN ${literal(v.toLowerCase())} THEN ${literal(v)}`).join(" ");
      return { typed: `CASE WHEN ${r} IN (${exact}) THEN ${r} ELSE CASE lower(trim(${r})) ${loose} END END`, bad: notBlank };
    }
    case "list": {
      // Stored as text (list-text.ts). Arrays (JSON, Parquet) are joined and normalized like a CSV cell.
      const joined = (a: string) => normalizedListSql(`array_to_string(${a}, ';')`);
      if (c.raw === "list") return { typed: joined(`TRY_CAST(${r} AS VARCHAR[])`), bad: `${r} IS NOT NULL AND ${t} IS NULL` };
      if (c.raw === "json")
        return {
          typed: `CASE json_type(${r}) WHEN 'ARRAY' THEN ${joined(`TRY_CAST(${r} AS VARCHAR[])`)} WHEN 'NULL' THEN NULL ELSE ${normalizedListSql(`(${r} ->> '$')`)} END`,
          bad: `${r} IS NOT NULL AND json_type(${r}) <> 'NULL' AND ${t} IS NULL`,
        };
      // Most cells are already clean (`a;b`) and are stored as they are; only the others are normalized.
      return { typed: `CASE WHEN ${r} IS NULL THEN NULL WHEN ${cleanListSql(r)} THEN ${r} ELSE ${normalizedListSql(r)} END`, bad: undefined };
    }
  }
}

/** A number, or NULL for infinity and NaN (which DuckDB's casts accept as `inf`, `Infinity`, `nan`). */
function finite(x: string): string {
  return `CASE WHEN isfinite(${x}) THEN ${x} END`;
}

function reasonText(kind: RejectKind, field: string | undefined, schema: MemberSchema, detail?: string): string {
  switch (kind) {
    case "malformed":
      return detail ? `malformed line (${detail.toLowerCase()})` : "malformed line";
    case "missing_key":
      return `no \`${schema.key}\` (the member key)`;
    case "duplicate_key":
      return `duplicate \`${schema.key}\` (the first row of each key is kept)`;
    case "bad_value": {
      const t = schema.fields.get(field!)!;
      switch (t.kind) {
        case "number":
          return `\`${field}\` is not a number`;
        case "bool":
          return `\`${field}\` is not true/false (accepted: true false 1 0 yes no 是 否)`;
        case "date":
          return `\`${field}\` is not a date (YYYY-MM-DD)`;
        case "datetime":
          return `\`${field}\` is not a date-time (YYYY-MM-DD HH:MM[:SS], local time or with a UTC offset: Z, +08:00)`;
        case "enum":
          return `\`${field}\` is not one of ${t.values.join(", ")}`;
        case "list":
          return `\`${field}\` is not a list`;
        default:
          return `\`${field}\` does not fit`;
      }
    }
  }
}

async function load(
  db: DuckDBInstance,
  conn: DuckDBConnection,
  file: string,
  format: SnapshotFormat,
  schema: MemberSchema,
  o: LoadOptions,
): Promise<Loaded | { error: Diagnostic }> {
  const span = (line = 1) => pointSpan(o.label, line);
  const header = format === "csv" ? await csvHeader(file) : undefined;
  if (header) {
    // One name in two cases DuckDB refuses with an error of its own (the same name twice it renames, as csvHeader
    // does: a field reads the first).
    const seen = new Map<string, string[]>();
    for (const name of header) seen.set(name.trim().toLowerCase(), [...(seen.get(name.trim().toLowerCase()) ?? []), name]);
    const twice = [...seen].find(([k, names]) => k !== "" && names.length > 1);
    if (twice) return { error: diag(MESSAGES.membersDuplicateColumn, span(), [o.label, `\`${twice[0]}\``, twice[1].map((n) => `\`${n}\``).join(", ")]) };
  }
  const fileCols = await describe(conn, file, format, header);
  const byLower = new Map<string, string>();
  for (const name of fileCols.keys()) {
    const k = name.trim().toLowerCase();
    if (!byLower.has(k)) byLower.set(k, name);
  }
  const columns: Column[] = [];
  for (const [field, type] of schema.fields) {
    const source = fileCols.has(field) ? field : byLower.get(field.toLowerCase());
    let raw: RawKind = "varchar";
    if (source !== undefined) {
      const st = fileCols.get(source)!;
      if (format === "jsonl") raw = type.kind === "list" ? "json" : "varchar";
      else if (format === "parquet") raw = st === "VARCHAR" ? "varchar" : type.kind === "list" && st.endsWith("[]") ? "list" : "native";
    }
    const presence = (type.kind === "string" || type.kind === "phone") && field !== schema.key && !!o.presenceOnly?.includes(field);
    const native = raw === "native" ? fileCols.get(source!) : undefined;
    columns.push({ field, type, raw, ...(source !== undefined ? { source } : {}), ...(presence ? { presence } : {}), ...(native ? { native } : {}) });
  }
  const keyCol = columns.find((c) => c.field === schema.key);
  if (!keyCol?.source) {
    const shown = [...fileCols.keys()].slice(0, 12).join(", ");
    return { error: diag(MESSAGES.membersNoKeyColumn, span(), [schema.key, shown ? `its columns are: ${shown}` : "the file has no columns"]) };
  }
  const missingFields = columns.filter((c) => c.source === undefined).map((c) => c.field);

  // Dates and date-times with a UTC offset are turned into the project's local time (`convert`).
  const zone = columns.some((c) => c.source !== undefined && (c.type.kind === "date" || c.type.kind === "datetime"))
    ? await zoneOf(conn, o.timezone)
    : { tz: o.timezone };

  // Pass 1: the parallel typed load. A CSV file is first read strictly, the reader typing numbers itself (its casts
  // are exactly TRY_CAST's, so a file it reads loads the same; text, enums, lists and booleans, whose accepted words
  // are ours, and dates and date-times, whose offsets are, stay text). That is faster than text and TRY_CAST; the
  // first value it cannot read, or a malformed line, fails it, and the file is read again the tolerant way.
  let from = 0;
  let reached = 0;
  const progress = (p: number) => {
    reached = from + (1 - from) * p;
    o.progress(o.loadStart + (1 - o.loadStart) * 0.9 * reached);
  };
  const createMembers = (cols: Column[], how: "strict" | "rejects", source = file) =>
    runWithProgress(conn, `CREATE TABLE members AS ${projection(cols, format, keyCol, zone)(relation(source, format, cols, how, header))}`, progress);
  let store: "strict" | "rejects" = "rejects";
  let read = columns;
  if (format === "csv" && !o.tolerantOnly) {
    const strict = columns.map((c): Column => (c.source !== undefined && FIELD_READ_BY_CSV.has(c.type.kind) ? { ...c, raw: "typed" } : c));
    try {
      await createMembers(strict, "strict", o.stream?.pipe);
      store = "strict";
      read = strict;
    } catch {
      await conn.run(`DROP TABLE IF EXISTS members`);
      from = reached; // the bar goes on from where the strict read stopped
    }
  }
  await o.stream?.whole(); // the file is complete from here on
  if (store === "rejects") await createMembers(columns, "rejects");
  const body = projection(read, format, keyCol, zone);

  const key = ident(schema.key);
  await conn.run(`CREATE TABLE rejected (line BIGINT, kind VARCHAR, field VARCHAR, detail VARCHAR, member VARCHAR)`);
  // A CSV file's rows are reported by the physical line they start on (see `fileLines`); a database's by record.
  const byFileLine = format === "csv" && !o.recordNumbers;
  // Malformed CSV lines, by DuckDB's record number (header = 1, blank lines counted, line breaks in quotes not).
  let malformed = 0;
  let malformedPending = false;
  if (format === "csv") {
    const has = await conn.runAndReadAll(`SELECT count(*) FROM duckdb_tables() WHERE table_name = 'csv_rejects'`);
    if (Number(has.getRowsJS()[0]![0]) > 0) {
      await conn.run(`CREATE TEMP TABLE csv_malformed AS SELECT line AS rec, min(error_type) AS detail FROM csv_rejects GROUP BY line`);
      malformed = Number((await conn.runAndReadAll(`SELECT count(*) FROM csv_malformed`)).getRowsJS()[0]![0]);
      if (byFileLine)
        malformedPending = malformed > 0; // inserted by the first `settle`, at their lines
      else await conn.run(`INSERT INTO rejected SELECT rec, 'malformed', NULL, detail, NULL FROM csv_malformed`);
    }
  }
  /**
   * Tables that turn CSV rows into the lines they start on (`fileLines`, reading the file as far as the last row to
   * report, `maxRow`): `nondata`, the records that are not rows (blank and malformed lines), as "rows before the
   * k-th of them" → k, so that row n is record n + 1 (the header) + the k of the last entry below n; and
   * `line_breaks`, where a record's line is its number plus the delta of the last break at or before it.
   */
  const mapLines = async (maxRow: number) => {
    const maxRec = malformedPending ? Number((await conn.runAndReadAll(`SELECT max(rec) FROM csv_malformed`)).getRowsJS()[0]![0]) : 0;
    const { breaks, blanks } = await fileLines(file, { rec: maxRec, rows: maxRow + malformed }, header!.length === 1);
    await conn.run(`CREATE TEMP TABLE line_breaks (_break BIGINT, _delta BIGINT); CREATE TEMP TABLE blank_recs (rec BIGINT)`);
    const breaksIn = await conn.createAppender("line_breaks", "main", "temp");
    for (const [rec, delta] of breaks) {
      breaksIn.appendBigInt(BigInt(rec));
      breaksIn.appendBigInt(BigInt(delta));
      breaksIn.endRow();
    }
    breaksIn.closeSync();
    const blanksIn = await conn.createAppender("blank_recs", "main", "temp");
    for (const rec of blanks) {
      blanksIn.appendBigInt(BigInt(rec));
      blanksIn.endRow();
    }
    blanksIn.closeSync();
    const notRows = malformed > 0 ? `SELECT rec FROM blank_recs UNION ALL SELECT rec FROM csv_malformed` : `SELECT rec FROM blank_recs`;
    await conn.run(
      `CREATE TEMP TABLE nondata AS SELECT _before, max(_k) AS _k FROM (
         SELECT rec - row_number() OVER (ORDER BY rec) - 1 AS _before, row_number() OVER (ORDER BY rec) AS _k FROM (${notRows})
       ) GROUP BY _before`,
    );
  };
  const [problems, valid] = (
    await conn.runAndReadAll(`SELECT count(*) FILTER (WHERE _reason IS NOT NULL), count(*) FILTER (WHERE _reason IS NULL) FROM members`)
  )
    .getRowsJS()[0]!
    .map(Number) as [number, number];
  // Duplicate keys. Member ids are mostly numbers or a few letters and a number (M0000001): mapped to that number,
  // the keys are distinct when the numbers are, which a bitmap over their range counts in two cheap passes
  // (~0.5 CPU-seconds for ten million). Otherwise, as many distinct key hashes as rows proves there are none, at
  // the cost of a hash aggregate (~2.5 CPU-seconds); fewer (a duplicate, or a collision) runs the exact search.
  const keysUnique = async (c: DuckDBConnection, where: string, count: number, setup = "") => {
    if (setup) await c.run(setup);
    if (await distinctAsNumbers(c, key, keyCol.type.kind, where, count)) return true;
    return Number((await c.runAndReadAll(`SELECT count(*) FROM (SELECT hash(${key}) FROM members ${where} GROUP BY 1)`)).getRowsJS()[0]![0]) === count;
  };

  /** Removes duplicate keys (when `unique` is false) and rows with problems, and counts what was rejected. */
  const settle = async (unique: boolean): Promise<Loaded> => {
    await conn.run(
      unique
        ? `CREATE TEMP TABLE dup_keys AS SELECT ${key} AS k FROM members WHERE FALSE`
        : `CREATE TEMP TABLE dup_keys AS SELECT ${key} AS k FROM members WHERE _reason IS NULL GROUP BY ${key} HAVING count(*) > 1`,
    );
    const dupKeys = unique ? 0 : Number((await conn.runAndReadAll(`SELECT count(*) FROM dup_keys`)).getRowsJS()[0]![0]);

    let mapped = false;
    if (problems > 0 || dupKeys > 0) {
      // Pass 2 (only for files with problems): an ordered scan numbers the rows to give line numbers and
      // to tell the first row of a duplicated key from the later ones.
      await conn.run(
        `CREATE TEMP TABLE located AS SELECT * FROM (SELECT row_number() OVER () AS _rn, * FROM (${body(relation(file, format, read, store === "strict" ? "strict" : "ignore", header))}))
         WHERE _reason IS NOT NULL OR ${key} IN (SELECT k FROM dup_keys)`,
      );
      const rank = `CASE WHEN _reason IS NULL THEN row_number() OVER (PARTITION BY ${key}, _reason IS NULL ORDER BY _rn) END AS _rank`;
      if (byFileLine) {
        // Row number → record number (past the header, blank and malformed lines) → the line the record starts on.
        await mapLines(Number((await conn.runAndReadAll(`SELECT COALESCE(max(_rn), 0) FROM located`)).getRowsJS()[0]![0]));
        mapped = true;
        await conn.run(
          `CREATE TEMP TABLE located_ranked AS SELECT l.* EXCLUDE (_rec), l._rec + b._delta AS _line, ${rank} FROM (
             SELECT located.*, located._rn + 1 + COALESCE(nd._k, 0) AS _rec FROM located ASOF LEFT JOIN nondata nd ON located._rn > nd._before
           ) l ASOF LEFT JOIN line_breaks b ON l._rec >= b._break`,
        );
      } else {
        // Records (JSON Lines, Parquet, a database's rows) are numbered from 1, each after the malformed ones before
        // it: records before the k-th malformed one m_k: m_k - k; a record numbered rn comes after it when rn > that.
        await conn.run(`CREATE TEMP TABLE malformed AS SELECT line - row_number() OVER (ORDER BY line) AS before FROM rejected WHERE kind = 'malformed'`);
        const lineOf = `(_rn + (SELECT count(*) FROM malformed WHERE before < _rn))`;
        await conn.run(`CREATE TEMP TABLE located_ranked AS SELECT *, ${lineOf} AS _line, ${rank} FROM located`);
        await conn.run(`DROP TABLE malformed`);
      }
      await conn.run(
        `INSERT INTO rejected SELECT _line,
           CASE WHEN _reason IS NULL THEN 'duplicate_key' WHEN _reason LIKE 'bad_value:%' THEN 'bad_value' ELSE _reason END,
           CASE WHEN _reason LIKE 'bad_value:%' THEN substr(_reason, 11) END, NULL, CAST(${key} AS VARCHAR)
         FROM located_ranked WHERE _reason IS NOT NULL OR _rank > 1`,
      );
      await conn.run(`DELETE FROM members WHERE _reason IS NOT NULL OR ${key} IN (SELECT k FROM dup_keys)`);
      const names = columns.map((c) => ident(c.field)).join(", ");
      await conn.run(`INSERT INTO members (${names}) SELECT ${names} FROM located_ranked WHERE _reason IS NULL AND _rank = 1 ORDER BY _rn`);
      await conn.run(`DROP TABLE located_ranked; DROP TABLE located`);
    }
    if (malformedPending) {
      if (!mapped) await mapLines(0);
      mapped = true;
      await conn.run(
        `INSERT INTO rejected SELECT m.rec + b._delta, 'malformed', NULL, m.detail, NULL FROM csv_malformed m ASOF LEFT JOIN line_breaks b ON m.rec >= b._break`,
      );
      malformedPending = false;
    }
    if (mapped) await conn.run(`DROP TABLE line_breaks; DROP TABLE blank_recs; DROP TABLE nondata`);
    await conn.run(`DROP TABLE dup_keys`);
    await conn.run(`ALTER TABLE members DROP COLUMN _reason`);

    const count = Number((await conn.runAndReadAll(`SELECT count(*) FROM members`)).getRowsJS()[0]![0]);
    const groups = await conn.runAndReadAll(
      `SELECT kind, field, min(detail), count(*) AS n, list(line ORDER BY line)[1:${MAX_LINES}] FROM rejected
       GROUP BY kind, field, CASE WHEN kind = 'malformed' THEN detail END ORDER BY n DESC, min(line)`,
    );
    const rejected: RejectedGroup[] = [];
    for (const row of groups.getRowsJS()) {
      const kind = row[0] as RejectKind;
      const field = (row[1] as string | null) ?? undefined;
      const g: RejectedGroup = {
        kind,
        reason: reasonText(kind, field, schema, (row[2] as string | null) ?? undefined),
        count: Number(row[3]),
        lines: (row[4] as bigint[]).map(Number),
      };
      if (field) g.field = field;
      rejected.push(g);
    }
    const rejectedTotal = rejected.reduce((s, g) => s + g.count, 0);

    const severity = o.strict ? "error" : "warning";
    const diagnostics: Diagnostic[] = [];
    for (const f of missingFields) diagnostics.push(diag(MESSAGES.membersMissingField, span(), [f], { severity }));
    for (const g of rejected)
      diagnostics.push(
        diag(o.recordNumbers ? MESSAGES.membersDbRejectedRows : MESSAGES.membersRejectedRows, span(g.lines[0] ?? 1), [g.count, g.reason, g.lines.join(", ")], {
          severity,
        }),
      );
    if (count === 0) diagnostics.push(diag(MESSAGES.membersEmpty, span(), [o.label], { severity }));
    const loaded: Loaded = { count, rejected, rejectedTotal, missingFields, diagnostics };
    if (format === "csv") loaded.csvRead = store === "strict" ? "strict" : "tolerant";
    return loaded;
  };

  if (!o.deferKeyCheck || problems > 0) return settle(await keysUnique(conn, "WHERE _reason IS NULL", valid));
  // Deferred: the table is taken as free of duplicates now, and the caller runs the check when DuckDB would
  // otherwise be idle (on a connection of its own); should it find any, `repair` removes them as above.
  const loaded = await settle(true);
  // Connected now: `run` is then called from a walk that does not yield to the event loop, and issues its
  // query at once (an `await connect()` there would wait for the walk to end).
  const own = await db.connect();
  loaded.keyCheck = {
    // One thread: the walk it overlaps is JavaScript on the other core; DuckDB gets its threads back after.
    run: async () => {
      try {
        return await keysUnique(own, "", loaded.count, "SET threads = 1;");
      } finally {
        await own.run(`SET threads = ${o.threads}`);
        own.closeSync();
      }
    },
    repair: async () => {
      await conn.run(`ALTER TABLE members ADD COLUMN _reason VARCHAR`);
      const again = await settle(false);
      delete again.keyCheck;
      return again;
    },
  };
  return loaded;
}

/** The widest range of key numbers counted with a bitmap (16 MB a thread). */
const MAX_KEY_RANGE = 2 ** 27;

/**
 * Whether `count` keys map to as many distinct whole numbers — a text key without as many leading characters as
 * the first key has letters (M0000001 → 1), a number key itself — counted with a bitmap over their range.
 * Distinct numbers mean distinct keys (one key always maps to one number); keys that do not map, or a range too
 * wide, answer false (the caller hashes).
 */
async function distinctAsNumbers(c: DuckDBConnection, key: string, kind: FieldType["kind"], where: string, count: number): Promise<boolean> {
  if (count === 0) return false;
  let n: string;
  if (kind === "string" || kind === "phone") {
    const first = (await c.runAndReadAll(`SELECT ${key} FROM members ${where} LIMIT 1`)).getRowsJS()[0]?.[0];
    const letters = /^[A-Za-z]*/.exec(String(first ?? ""))![0].length;
    n = `TRY_CAST(substr(${key}, ${letters + 1}) AS BIGINT)`;
  } else if (kind === "number") n = `CASE WHEN ${key} = trunc(${key}) AND abs(${key}) < 9007199254740992 THEN CAST(${key} AS BIGINT) END`;
  else return false;
  const numbers = `SELECT ${n} AS n FROM members ${where}`;
  const distinct = async (lo: number, hi: number) => {
    const [mapped, bits] = (await c.runAndReadAll(`SELECT count(n), bit_count(bitstring_agg(n, ${lo}, ${hi})) FROM (${numbers})`)).getRowsJS()[0]!.map(Number);
    return mapped === count && bits === count;
  };
  // Most ids are below 2^25: one pass. A number outside fails it, and the range is measured first.
  try {
    return await distinct(0, 2 ** 25 - 1);
  } catch {
    const [lo, hi, mapped] = (await c.runAndReadAll(`SELECT min(n), max(n), count(n) FROM (${numbers})`))
      .getRowsJS()[0]!
      .map((x) => (x === null ? NaN : Number(x)));
    if (mapped !== count || !(hi! - lo! < MAX_KEY_RANGE)) return false;
    return distinct(lo!, hi!);
  }
}

/**
 * Schema types the strict CSV pass lets DuckDB's reader parse (their CSV casts equal TRY_CAST). Not dates and
 * date-times: the reader would drop a UTC offset (`…Z`, `…+08:00`) where `convert` turns the instant into local time.
 */
const FIELD_READ_BY_CSV = new Set<FieldType["kind"]>(["number"]);

/**
 * The load's one projection: raw (r_i) and typed (t_i) values, then fields by name and the reason a row does
 * not fit (NULL when it does).
 */
function projection(columns: Column[], format: SnapshotFormat, keyCol: Column, zone: ZoneSql): (rel: string) => string {
  const inner: string[] = [];
  const outer: string[] = [];
  const reasons: string[] = [];
  columns.forEach((c, i) => {
    const r = `r${i}`;
    const t = `t${i}`;
    if (c.source === undefined) {
      outer.push(`CAST(NULL AS ${sqlType(c.type)}) AS ${ident(c.field)}`);
      return;
    }
    const { typed, bad } = convert(c, `src.${ident(c.source)}`, t, zone);
    inner.push(`src.${ident(c.source)} AS ${r}`, `${typed} AS ${t}`);
    outer.push(`${t} AS ${ident(c.field)}`);
    if (bad) reasons.push(`WHEN ${bad.replaceAll(`src.${ident(c.source)}`, r)} THEN ${literal(`bad_value:${c.field}`)}`);
  });
  const keyIndex = columns.findIndex((c) => c.field === keyCol.field);
  const present = columns.map((c, i) => (c.source === undefined ? undefined : `r${i}`)).filter((x): x is string => !!x);
  const malformedJson = format === "jsonl" ? [`WHEN ${present.map((r) => `${r} IS NULL`).join(" AND ")} THEN 'malformed'`] : [];
  const reason = `CASE ${[...malformedJson, `WHEN t${keyIndex} IS NULL THEN 'missing_key'`, ...reasons].join(" ")} END AS _reason`;
  return (rel) => `SELECT ${outer.join(", ")}, ${reason} FROM (SELECT ${inner.join(", ")} FROM ${rel} AS src)`;
}

async function runWithProgress(conn: DuckDBConnection, sql: string, report: (fraction: number) => void): Promise<void> {
  const stop = pollProgress(conn, report);
  try {
    await conn.run(sql);
  } finally {
    stop();
  }
}

/** Polls DuckDB's query progress while a long statement runs. */
function pollProgress(conn: DuckDBConnection, report: (fraction: number) => void): () => void {
  const timer = setInterval(() => {
    try {
      const p = conn.progress;
      if (p && p.percentage >= 0) report(Math.min(1, p.percentage / 100));
    } catch {
      /* progress is best effort */
    }
  }, 200);
  timer.unref?.();
  return () => clearInterval(timer);
}
