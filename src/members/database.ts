/**
 * Members read from the CRM's own database (PostgreSQL, MySQL / MariaDB) instead of a file.
 *
 * The rows are exported as CSV text into a temporary file and loaded by the file loader (snapshot.ts), so a
 * database gives exactly the typing, rejections and duplicate-key checks of a CSV snapshot; only the rejected rows
 * are numbered by row of the query's result. PostgreSQL streams `COPY (…) TO STDOUT (FORMAT csv)` straight into
 * the file (the server writes the CSV); MySQL streams rows through a cursor and they are written as CSV here.
 * Values are turned into the text a CSV snapshot holds: booleans as true/false, timestamps with a zone in the
 * project's time zone, arrays joined by `;` like a list cell.
 *
 * DuckDB's own postgres/mysql extensions are not used: they are downloaded at run time, which fails offline.
 *
 * A URL carries a password: it is shown masked (`postgres://crm:***@db:5432/crm`) in every message.
 */
import { closeSync, constants as fsConstants, createWriteStream, mkdtempSync, openSync, rmSync, type WriteStream } from "node:fs";
import { Socket } from "node:net";
import { execFileSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { once } from "node:events";
import { finished } from "node:stream/promises";
import type { MemberSchema, Project } from "../project/types.js";
import type { Diagnostic, MessageDef } from "../diagnostics/types.js";
import { diag } from "../diagnostics/diag.js";
import { MESSAGES } from "../diagnostics/messages/index.js";
import { pointSpan } from "../diagnostics/span.js";
import { openSnapshot, type OpenSnapshotOptions, type OpenSnapshotResult } from "./snapshot.js";
import { offsetMinutesAt } from "../calendar/time.js";
import { libpqUrl } from "../ledger/url.js";
import { dropFailedLogin, noPasswordReason } from "../ledger/pg-login.js";

export type DatabaseKind = "postgres" | "mysql";

export interface DatabaseSource {
  kind: DatabaseKind;
  url: string;
  /** The URL with its password masked: the only form ever printed. */
  label: string;
  /** A SELECT (no trailing `;`), or a table name; neither: the table `members`. */
  query?: string;
  table?: string;
}

const SCHEMES: Record<string, DatabaseKind> = { "postgres:": "postgres", "postgresql:": "postgres", "mysql:": "mysql", "mariadb:": "mysql" };

/** Whether a --members value is a URL (`scheme://…`) rather than a file path. */
export function looksLikeUrl(input: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(input);
}

/** Query parameters that carry a secret (`?password=…` is taken by node-postgres and mysql2 alike). */
const SECRET_PARAM = /pass|pwd|secret|token/i;

/** The URL with its password replaced by `***`, in the user part and in the query (also when it does not parse). */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    for (const k of [...u.searchParams.keys()]) if (SECRET_PARAM.test(k)) u.searchParams.set(k, "***");
    return u.toString().replaceAll("%2A%2A%2A", "***");
  } catch {
    return url.replace(/^([^:/]+:\/\/[^:/@]*:)[^@]*@/, "$1***@").replace(/([?&][^=&]*(?:pass|pwd|secret|token)[^=&]*=)[^&]*/gi, "$1***");
  }
}

/** The secrets of a URL as written in it: the password, and the values of secret query parameters. */
function secretsOf(url: string): string[] {
  try {
    const u = new URL(url);
    const out = [decodeURIComponent(u.password)];
    for (const [k, v] of u.searchParams) if (SECRET_PARAM.test(k)) out.push(v);
    return out.filter((x) => x.length > 0);
  } catch {
    return [];
  }
}

/** Any occurrence of the URL's password in a message (a driver echoing it) is masked too. */
function maskSecret(text: string, url: string): string {
  let masked = text.split(url).join(maskUrl(url));
  for (const secret of secretsOf(url)) masked = masked.split(secret).join("***");
  return masked;
}

/** A members database source for a URL, or a diagnostic (unknown scheme, unparsable URL). */
export function databaseSource(url: string, config: Pick<MemberSchema, "source"> = {}): DatabaseSource | Diagnostic {
  const label = maskUrl(url);
  let kind: DatabaseKind | undefined;
  try {
    kind = SCHEMES[new URL(url).protocol.toLowerCase()];
  } catch {
    kind = undefined;
  }
  if (!kind) {
    const d = diag(MESSAGES.membersDbBadUrl, pointSpan(label, 1), [label]);
    // A known scheme that does not parse: say what usually breaks it, not that the scheme is wrong.
    if (/^(postgres|postgresql|mysql|mariadb):\/\//i.test(url))
      d.help =
        "the URL does not parse: write a password's special characters percent-encoded (# as %23, @ as %40, / as %2F, : as %3A), give a port from 1 to 65535 and a host (for a Unix socket, use a host name and ?host=/path)";
    return d;
  }
  const src: DatabaseSource = { kind, url, label };
  if (config.source?.query !== undefined) src.query = config.source.query;
  else if (config.source?.table !== undefined) src.table = config.source.table;
  return src;
}

/** A problem with the database, as the diagnostic to show. */
export class MembersDatabaseError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

/**
 * Which result column feeds each schema field: the column of the same name, else the first whose trimmed name
 * matches case-insensitively (as for a file's header). Result: [field, column index].
 */
export function matchColumns(columns: readonly string[], schema: MemberSchema): [string, number][] {
  const exact = new Map<string, number>();
  const lower = new Map<string, number>();
  columns.forEach((c, i) => {
    if (!exact.has(c)) exact.set(c, i);
    const k = c.trim().toLowerCase();
    if (!lower.has(k)) lower.set(k, i);
  });
  const out: [string, number][] = [];
  for (const field of schema.fields.keys()) {
    const i = exact.get(field) ?? lower.get(field.toLowerCase());
    if (i !== undefined) out.push([field, i]);
  }
  return out;
}

/**
 * A query ready to stream: connected, its columns known and matched to the schema. `stream` writes the matched
 * columns' CSV lines (no header) to the sink and closes the connection; `close` alone when it is not streamed.
 */
interface PreparedExport {
  /** The schema fields read, in the order of the CSV columns. */
  fields: string[];
  /** Every column of the result, as the database named them. */
  columns: string[];
  stream(sink: CsvSink): Promise<number>;
  close(): Promise<void>;
}

/**
 * Where the CSV text goes: the file, and (when given) a pipe that DuckDB's first read takes the rows from while they
 * are still arriving. A pipe whose reader went away (the read stopped at a bad value) is dropped; the file goes on.
 */
export class CsvSink {
  /** The pipe while rows still go to it. */
  private pipe: PipeWriter | undefined;
  constructor(
    private readonly file: WriteStream,
    private readonly writer?: PipeWriter,
  ) {
    this.pipe = writer;
    writer?.stream.on("error", () => this.abandonPipe());
  }

  /** The pipe breaks off (the export failed): its reader sees the end, no more rows go to it. */
  private abandonPipe(): void {
    const pipe = this.pipe;
    this.pipe = undefined;
    pipe?.abandon();
  }

  /** No more rows go to the pipe (its reader is done with it); a write waiting for it goes on. */
  dropPipe(): void {
    this.pipe = undefined;
    this.writer?.release();
  }

  /** Resolves once what was written so far is in the file (the loader reads the header line from it). */
  flushed(): Promise<void> {
    return new Promise((resolve, reject) => this.file.write("", (e) => (e ? reject(e) : resolve())));
  }

  async write(chunk: string | Buffer): Promise<void> {
    const waits: Promise<unknown>[] = [];
    if (!this.file.write(chunk)) waits.push(once(this.file, "drain"));
    const pipe = this.pipe?.stream;
    if (pipe && !pipe.write(chunk))
      waits.push(
        new Promise<void>((resolve) => {
          const done = () => {
            pipe.off("drain", done).off("close", done);
            resolve();
          };
          pipe.on("drain", done).on("close", done);
        }),
      );
    await Promise.all(waits);
  }

  /** Ends both; the file is flushed when this resolves. */
  async end(): Promise<void> {
    this.pipe?.end();
    this.file.end();
    await finished(this.file);
  }

  /** Stops both at once (the export failed): the pipe's reader sees its end. */
  abort(): void {
    this.abandonPipe();
    this.file.destroy();
  }
}

/** Connects and describes the query (MembersDatabaseError for every problem of the database, the URL masked). */
async function prepareExport(src: DatabaseSource, schema: MemberSchema, timezone: string): Promise<PreparedExport> {
  try {
    return src.kind === "postgres" ? await preparePostgres(src, schema, timezone) : await prepareMySql(src, schema, timezone);
  } catch (e) {
    throw asDatabaseError(src, e, "query");
  }
}

/** A bug of chuda stays an internal error; everything else comes from the driver or the server. */
function asDatabaseError(src: DatabaseSource, e: unknown, stage: "query" | "read"): unknown {
  if (e instanceof MembersDatabaseError || e instanceof TypeError || e instanceof ReferenceError) return e;
  return new MembersDatabaseError(describeError(src, e, stage));
}

/** The CSV header line of the fields read. */
function headerLine(fields: readonly string[]): string {
  return fields.map(csvCell).join(",") + "\n";
}

/**
 * Exports the members of `src` as a CSV file (a header of schema field names, then one line per row). Throws
 * MembersDatabaseError for every problem of the database (never its stack); the URL is masked in it.
 */
export async function exportMembers(src: DatabaseSource, schema: MemberSchema, timezone: string, file: string): Promise<{ rows: number; columns: string[] }> {
  const prepared = await prepareExport(src, schema, timezone);
  const sink = new CsvSink(createWriteStream(file));
  try {
    await sink.write(headerLine(prepared.fields));
    const rows = await prepared.stream(sink);
    await sink.end();
    return { rows, columns: prepared.columns };
  } catch (e) {
    sink.abort();
    throw asDatabaseError(src, e, "read");
  }
}

const span = (src: DatabaseSource) => pointSpan(src.label, 1);

/** What went wrong, by SQLSTATE (PostgreSQL), error number (MySQL) or socket error code. */
function describeError(src: DatabaseSource, e: unknown, stage: "connect" | "query" | "read"): Diagnostic {
  const err = e as { code?: string; errno?: number; message?: string; sqlMessage?: string };
  const code = String(err.code ?? "");
  const text = maskSecret(oneLine(err.sqlMessage ?? err.message ?? String(e)) || code, src.url);
  const d = (def: MessageDef, args: (string | number)[]) => diag(def, span(src), args);
  // Login: PostgreSQL class 28; MySQL access denied.
  if (/^28/.test(code) || code === "ER_ACCESS_DENIED_ERROR" || code === "ER_DBACCESS_DENIED_ERROR" || code === "ER_NOT_SUPPORTED_AUTH_MODE")
    return d(MESSAGES.membersDbLogin, [src.label, text]);
  const noPassword = noPasswordReason(text);
  if (noPassword) return d(MESSAGES.membersDbLogin, [src.label, noPassword]);
  if (code === "3D000" || code === "ER_BAD_DB_ERROR") return d(MESSAGES.membersDbNoDatabase, [src.label, text]);
  if ((code === "42P01" || code === "ER_NO_SUCH_TABLE") && src.query === undefined) return d(MESSAGES.membersDbNoTable, [src.table ?? "members", src.label]);
  if (stage === "connect") return d(MESSAGES.membersDbUnreachable, [src.label, text]);
  // The connection went away: a socket error, or PostgreSQL ending it (57P01–57P03: shut down, crashed, restarting;
  // class 08: connection exceptions).
  const lost =
    ["ECONNRESET", "EPIPE", "ETIMEDOUT", "PROTOCOL_CONNECTION_LOST", "ER_CONNECTION_KILLED"].includes(code) ||
    /^(57P0[123]|08)/.test(code) ||
    /Connection terminated/i.test(text);
  if (stage === "read" || lost) return d(MESSAGES.membersDbReadFailed, [src.label, text || "the connection closed"]);
  return d(MESSAGES.membersDbQueryFailed, [src.label, text]);
}

function oneLine(text: string): string {
  return text.split("\n")[0]!.trim();
}

const CONNECT_TIMEOUT_MS = 15_000;

/** The rows to read: the query as written (a newline before the closing parenthesis ends a trailing comment). */
function sourceSql(src: DatabaseSource, quote: (name: string) => string): string {
  if (src.query !== undefined) return `(${src.query}\n)`;
  const table = (src.table ?? "members").split(".").map(quote).join(".");
  return `(SELECT * FROM ${table})`;
}

/** A CommonJS package's exports, whether the bundle hands them over as named exports or as `default`. */
function cjs<T extends object>(mod: T): T {
  const d = (mod as { default?: T }).default;
  return d && typeof d === "object" ? d : mod;
}

// ——— PostgreSQL ———

const pgIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;
const pgLiteral = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** PostgreSQL type OIDs read specially. */
const PG_BOOL = 16;
const PG_JSON = 114;
const PG_JSONB = 3802;
const PG_TIMESTAMPTZ = 1184;

async function preparePostgres(src: DatabaseSource, schema: MemberSchema, timezone: string): Promise<PreparedExport> {
  const pg = cjs(await import("pg"));
  const { to: copyTo } = cjs(await import("pg-copy-streams"));
  const client = new pg.Client({ connectionString: libpqUrl(src.url), connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: "chuda members" });
  // A server that goes away mid-read emits 'error' on the client; the read itself reports it.
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (e) {
    dropFailedLogin(client);
    throw new MembersDatabaseError(describeError(src, e, "connect"));
  }
  const close = () => client.end().catch(() => undefined);
  try {
    const rows = sourceSql(src, pgIdent);
    // Dates as YYYY-MM-DD, timestamps with a zone in the project's zone (then read as its local time).
    // Read only: a query that would write (a data-modifying WITH) is refused by the server, whatever the login may do.
    await client.query(
      `SET DateStyle TO ISO, YMD; SET TimeZone TO ${pgLiteral(timezone)}; SET IntervalStyle TO iso_8601; SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY`,
    );
    const described = await client.query(`SELECT * FROM ${rows} AS q LIMIT 0`);
    const fields = described.fields;
    const columns = fields.map((f) => f.name);
    const matched = matchColumns(columns, schema);
    assertKey(src, schema, matched, columns);
    const arrays = new Set<number>();
    const oids = [...new Set(fields.map((f) => f.dataTypeID))];
    const types = await client.query<{ oid: number; category: string }>(
      `SELECT oid::int AS oid, typcategory AS category FROM pg_type WHERE oid = ANY($1::oid[])`,
      [oids],
    );
    for (const t of types.rows) if (t.category === "A") arrays.add(t.oid);
    // The columns renamed by position (c1, c2 …): a query may return two columns of one name.
    const renamed = columns.map((_, i) => `c${i + 1}`).join(", ");
    const select = matched
      .map(([field, i]) => {
        const c = `q.c${i + 1}`;
        const oid = fields[i]!.dataTypeID;
        let expr = c;
        if (oid === PG_BOOL) expr = `${c}::text`;
        else if (oid === PG_TIMESTAMPTZ) expr = `${c}::timestamp`;
        else if (oid === PG_JSON || oid === PG_JSONB)
          expr = `CASE jsonb_typeof(${c}::jsonb) WHEN 'array' THEN (SELECT string_agg(x, ';') FROM jsonb_array_elements_text(${c}::jsonb) AS x) ELSE ${c}::jsonb #>> '{}' END`;
        else if (arrays.has(oid)) expr = `array_to_string(${c}, ';')`;
        return `${expr} AS ${pgIdent(field)}`;
      })
      .join(", ");
    const sql = `COPY (SELECT ${select} FROM ${rows} AS q(${renamed})) TO STDOUT (FORMAT csv)`;
    return {
      fields: matched.map(([f]) => f),
      columns,
      close,
      stream: async (sink) => {
        try {
          const stream = client.query(copyTo(sql));
          try {
            for await (const chunk of stream as AsyncIterable<Buffer>) await sink.write(chunk);
          } catch (e) {
            // An error with a SQLSTATE is the query's (a cast, a division by zero); others broke the stream.
            throw asDatabaseError(src, e, String((e as { code?: string }).code ?? "").length === 5 ? "query" : "read");
          }
          return Number(stream.rowCount ?? 0);
        } finally {
          await close();
        }
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}

function assertKey(src: DatabaseSource, schema: MemberSchema, matched: [string, number][], columns: string[]): void {
  if (matched.some(([f]) => f === schema.key)) return;
  const shown = columns.slice(0, 12).join(", ");
  throw new MembersDatabaseError(
    diag(MESSAGES.membersNoKeyColumn, span(src), [schema.key, shown ? `its columns are: ${shown}` : "the query returns no columns"]),
  );
}

// ——— MySQL / MariaDB ———

const myIdent = (name: string) => `\`${name.replaceAll("`", "``")}\``;

/**
 * A MySQL TIMESTAMP read in UTC (`2026-01-01 02:00:00[.fff]`) as the wall clock of the project's zone at that
 * instant, with the zone's real offset then (daylight saving, historical changes): the session's zone is UTC
 * because a server without zone tables knows no named zone, only a fixed offset. Anything else (the zero date)
 * goes on as it is, to be rejected like a bad value.
 */
export function utcToLocal(text: string, timezone: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)?$/.exec(text);
  if (!m || m[1] === "0000") return text;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const local = new Date(ms + offsetMinutesAt(ms, timezone) * 60_000).toISOString();
  return `${local.slice(0, 10)} ${local.slice(11, 19)}${m[7] ?? ""}`;
}

/** A CSV cell: quoted when it holds a delimiter, a quote, a line break, or is the empty text. */
function csvCell(text: string): string {
  return text === "" || /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The CSV text of a value mysql2 returned (dates come as text: `dateStrings`). */
function mysqlCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return csvCell(v);
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (Buffer.isBuffer(v)) return csvCell(v.toString("utf8"));
  // A JSON null in an array is no item (as PostgreSQL's arrays and an empty list cell): `json_arrayagg` of a LEFT JOIN
  // without matches gives `[null]`.
  if (Array.isArray(v))
    return csvCell(
      v
        .filter((x) => x !== null && x !== undefined)
        .map((x) => (typeof x === "string" ? x : JSON.stringify(x)))
        .join(";"),
    );
  return csvCell(JSON.stringify(v));
}

async function prepareMySql(src: DatabaseSource, schema: MemberSchema, timezone: string): Promise<PreparedExport> {
  const mysql = cjs(await import("mysql2"));
  const url = new URL(src.url);
  if (url.protocol === "mariadb:") url.protocol = "mysql:";
  const conn = mysql.createConnection({
    uri: url.toString(),
    connectTimeout: CONNECT_TIMEOUT_MS,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    charset: "utf8mb4",
    // BIT(1) as 0/1 (a bool field), not a one-byte buffer; TIMESTAMP (read in UTC) as the project's local time.
    typeCast: (field, next) => {
      if (field.type === "BIT" && field.length === 1) {
        const b = field.buffer();
        return b === null ? null : b[0] === 1 ? 1 : 0;
      }
      if (field.type === "TIMESTAMP") {
        const t = field.string();
        return t === null ? null : utcToLocal(t, timezone);
      }
      return next();
    },
  });
  conn.on("error", () => undefined);
  // A read stopped early (an error) leaves rows unread: the connection is dropped rather than drained.
  const close = async () => conn.destroy();
  const p = conn.promise();
  try {
    await p.connect();
  } catch (e) {
    conn.destroy();
    throw new MembersDatabaseError(describeError(src, e, "connect"));
  }
  try {
    // TIMESTAMP columns in UTC, turned into the project's local time as they are read (see utcToLocal). NOW() and
    // friends in a query are then UTC too.
    await p.query(`SET time_zone = '+00:00'`);
    // Read only: a statement that would change data is refused by the server, whatever the login may do.
    await p.query(`SET SESSION TRANSACTION READ ONLY`);
    const sql = src.query ?? `SELECT * FROM ${(src.table ?? "members").split(".").map(myIdent).join(".")}`;
    // The columns arrive before the first row; the stream then waits (paused) until it is read.
    const query = conn.query({ sql, rowsAsArray: true });
    const rowStream = query.stream({ highWaterMark: 1000 });
    rowStream.on("error", () => undefined); // reported by the read below, or by the wait for the columns
    query.on("error", () => undefined);
    // A connection lost mid-query (the server killed it, went down) is an error of the connection only: mysql2 tells a
    // query without a callback nothing, and its rows would be waited for forever. The query is told here.
    conn.on("error", (e: Error) => query.emit("error", e));
    const columns = await new Promise<string[]>((resolve, reject) => {
      query.once("fields", (fields: { name: string }[]) => resolve(fields.map((f) => f.name)));
      query.once("error", reject);
      query.once("end", () => resolve([]));
    });
    const matched = matchColumns(columns, schema);
    assertKey(src, schema, matched, columns);
    // A number into a bool field (TINYINT(1), BOOLEAN): MySQL's truth, any non-zero value is true.
    const bools = matched.map(([f]) => schema.fields.get(f)?.kind === "bool");
    return {
      fields: matched.map(([f]) => f),
      columns,
      close,
      stream: async (sink) => {
        let rows = 0;
        try {
          let chunk = "";
          for await (const row of rowStream as AsyncIterable<unknown[]>) {
            let line = "";
            for (let j = 0; j < matched.length; j++) {
              const v = row[matched[j]![1]];
              line += (j ? "," : "") + (bools[j] && typeof v === "number" ? (v !== 0 ? "true" : "false") : mysqlCell(v));
            }
            chunk += line + "\n";
            rows++;
            if (chunk.length > 1 << 16) {
              await sink.write(chunk);
              chunk = "";
            }
          }
          if (chunk) await sink.write(chunk);
          return rows;
        } catch (e) {
          const code = (e as { code?: string }).code;
          throw asDatabaseError(src, e, rows > 0 || code === "PROTOCOL_CONNECTION_LOST" ? "read" : "query");
        } finally {
          await close();
        }
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}

// ——— loading ———

const liveDirs = new Set<string>();
/** Pipes being written: their descriptors are closed on exit, so that DuckDB's threads reading them see their end. */
const livePipes = new Set<PipeWriter>();
let exitHook = false;

/**
 * The writing end of a named pipe, opened and written without ever blocking a thread. A FIFO opened the usual way
 * (`createWriteStream`) waits in libuv's thread pool for a reader, and its writes wait there while the pipe is full;
 * `process.exit` joins that pool, so a signal in either moment left the process hanging for ever.
 *
 * Here a reader of our own (non-blocking, never read) lets the writers open at once; the writer is a non-blocking
 * stream of the event loop, and while our reader is open a write made before the loader opens the pipe waits in it
 * instead of failing. A second writer, never written, holds the pipe open until the loader has opened it: if the
 * last writer closed before any reader came, the pipe would lose what it holds and the loader's open would wait for
 * a writer for ever. It is closed once opening another writer succeeds with our reader closed (the loader is there),
 * once the pipe is gone, or when the loader says it is done with the pipe.
 */
export class PipeWriter {
  readonly stream: Socket;
  private readonly fd: number;
  private ourReader: number | undefined;
  private holder: number | undefined;
  private streamOpen = true;

  constructor(readonly path: string) {
    this.ourReader = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    this.holder = openSync(path, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
    this.fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
    this.stream = new Socket({ fd: this.fd, readable: false, writable: true });
    livePipes.add(this);
    this.stream.once("close", () => {
      this.streamOpen = false;
      this.ourReader = closeFd(this.ourReader);
      this.holdUntilRead();
    });
  }

  /** No more rows: the pipe ends once what was written is in it (its reader then sees the end after reading it). */
  end(): void {
    this.stream.end();
  }

  /** The export failed: what is not yet in the pipe is dropped, and its reader sees the end. */
  abandon(): void {
    this.stream.destroy();
  }

  /** The loader is done with the pipe (or never opened it and never will): everything is closed now. */
  release(): void {
    this.stream.destroy();
    this.ourReader = closeFd(this.ourReader);
    this.holder = closeFd(this.holder);
    livePipes.delete(this);
  }

  /** Descriptors still open, for the exit hook. */
  fds(): number[] {
    return [this.streamOpen ? this.fd : undefined, this.ourReader, this.holder].filter((fd): fd is number => fd !== undefined);
  }

  private holdUntilRead(): void {
    if (this.holder === undefined) return;
    try {
      closeSync(openSync(this.path, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENXIO") {
        setTimeout(() => this.holdUntilRead(), 5).unref(); // no reader yet
        return;
      }
      // The pipe is gone: nobody can open it any more.
    }
    this.holder = closeFd(this.holder);
    livePipes.delete(this);
  }
}

function closeFd(fd: number | undefined): undefined {
  if (fd !== undefined)
    try {
      closeSync(fd);
    } catch {
      /* closed already (at exit) */
    }
  return undefined;
}

/** A named pipe (mkfifo) with its writer, or undefined where there is none (then the file is read once it is whole). */
export function makePipe(file: string): PipeWriter | undefined {
  try {
    execFileSync("mkfifo", ["-m", "600", file], { stdio: "ignore" });
  } catch {
    return undefined;
  }
  return new PipeWriter(file);
}

/**
 * Reads the members of a database into a snapshot: the rows are written to a temporary CSV file and, at the same
 * time, through a named pipe into the loader's first read, so the database's export and DuckDB's parse overlap;
 * later reads (rejected rows, a tolerant re-read) take the whole file. Never throws for a problem of the database
 * or its rows: the result then holds only error diagnostics.
 */
export async function openDatabaseSnapshot(src: DatabaseSource, project: Project, opts: OpenSnapshotOptions = {}): Promise<OpenSnapshotResult> {
  if (!exitHook) {
    exitHook = true;
    process.on("exit", () => {
      for (const w of livePipes)
        for (const fd of w.fds())
          try {
            closeSync(fd);
          } catch {
            /* closed already */
          }
      for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
    });
  }
  let prepared: PreparedExport;
  try {
    prepared = await prepareExport(src, project.members, project.timezone);
  } catch (e) {
    if (e instanceof MembersDatabaseError) return { diagnostics: [e.diagnostic] };
    throw e;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "chuda-members-db-"));
  liveDirs.add(dir);
  const cleanup = () => {
    liveDirs.delete(dir);
    rmSync(dir, { recursive: true, force: true });
  };
  const file = path.join(dir, "members.csv");
  const writer = makePipe(path.join(dir, "members.pipe.csv"));
  const pipe = writer?.path;
  const sink = new CsvSink(createWriteStream(file), writer);
  let failure: MembersDatabaseError | undefined;
  const exported = (async () => {
    try {
      await sink.write(headerLine(prepared.fields));
      await prepared.stream(sink);
      await sink.end();
    } catch (e) {
      sink.abort(); // the loader's read of the pipe ends
      const err = asDatabaseError(src, e, "read");
      if (!(err instanceof MembersDatabaseError)) throw err;
      failure = err;
      throw err;
    }
  })();
  exported.catch(() => undefined); // awaited below; the loader may stop waiting for it first
  if (!pipe) await exported.catch(() => undefined);
  else await sink.flushed().catch(() => undefined);
  let opened: OpenSnapshotResult = { diagnostics: [] };
  if (!failure) {
    const whole = async () => {
      sink.dropPipe(); // the first read is over: rows it did not take are not waited for
      await exported;
    };
    try {
      opened = await openSnapshot(file, project, {
        ...opts,
        label: src.label,
        encoding: "utf-8",
        recordNumbers: true,
        tolerantOnly: false,
        ...(pipe ? { stream: { pipe, whole } } : {}),
      });
    } catch (e) {
      // The export is let finish (it must not wait on a pipe nobody reads) before the error goes on.
      sink.dropPipe();
      await exported.catch(() => undefined);
      cleanup();
      throw e;
    }
    sink.dropPipe(); // also a loader that stopped before reading the pipe
    await exported.catch(() => undefined);
  }
  if (failure) {
    await opened.snapshot?.close();
    cleanup();
    return { diagnostics: [failure.diagnostic] };
  }
  if (!opened.snapshot) {
    cleanup();
    return opened;
  }
  // The file stays until the snapshot is closed: a deferred duplicate-key repair reads it again.
  const snapshot = opened.snapshot;
  const close = snapshot.close;
  snapshot.close = async () => {
    await close();
    cleanup();
  };
  return opened;
}
