/**
 * Reading members out of a loaded snapshot for one occurrence: count them, or stream them in key order,
 * in chunks, as plain JS values (dates "YYYY-MM-DD", date-times "YYYY-MM-DD HH:MM:SS", lists string[],
 * numbers number, bools boolean, missing null).
 */
import type { DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import type { FieldType, MemberSchema } from "../project/types.js";
import { bindRuntime, type Compiled } from "./compile.js";
import { ident } from "./sql.js";

/** What the queries need of a snapshot (a `Snapshot` from openSnapshot fits). */
export interface MemberSource {
  conn: DuckDBConnection;
  table: string;
}

export interface MemberQuery {
  /** A compiled audience; its TODAY / NOW markers are bound to `today` / `now`. Columns unqualified or `m.`. */
  where: Compiled;
  /** "YYYY-MM-DD", the occurrence's day. */
  today: string;
  /** "YYYY-MM-DD HH:MM[:SS]", the occurrence's moment. */
  now: string;
  /** Another condition ANDed in (e.g. not the global exclusion), same rules as `where`. */
  extraWhere?: Compiled;
}

export interface SelectOptions extends MemberQuery {
  /** Member fields to return (the key is always returned first). */
  columns: string[];
  /** An ORDER BY expression over `m` (default: the member key). The key is always the last tie-breaker. */
  orderBy?: string;
  /** Rows per yielded chunk (default 10,000). */
  chunkSize?: number;
}

function whereClause(q: MemberQuery): { sql: string; params: DuckDBValue[] } {
  const parts = [q.where, ...(q.extraWhere ? [q.extraWhere] : [])];
  return {
    sql: parts.map((p) => `(${p.sql})`).join(" AND "),
    params: parts.flatMap((p) => bindRuntime(p.params, q.today, q.now)) as DuckDBValue[],
  };
}

/** A column as a plain JS value. */
export function readableSql(expr: string, type: FieldType): string {
  switch (type.kind) {
    case "date":
      return `strftime(${expr}, '%Y-%m-%d')`;
    case "datetime":
      return `strftime(${expr}, '%Y-%m-%d %H:%M:%S')`;
    case "number":
      return `CAST(${expr} AS DOUBLE)`;
    case "list":
      // Stored as `a;b` (list-text.ts); read back as an array.
      return `CASE WHEN ${expr} = '' THEN []::VARCHAR[] ELSE string_split(${expr}, ';') END`;
    case "bool":
      return `CAST(${expr} AS BOOLEAN)`;
    default:
      return `CAST(${expr} AS VARCHAR)`;
  }
}

/** How many members match. */
export async function countMembers(source: MemberSource, q: MemberQuery): Promise<number> {
  const w = whereClause(q);
  const res = await source.conn.runAndReadAll(`SELECT count(*) FROM ${ident(source.table)} AS m WHERE ${w.sql}`, w.params);
  return Number(res.getRowsJS()[0]![0]);
}

/** The matching members in key (or `orderBy`) order, streamed from DuckDB in chunks. */
export async function* selectMembers(source: MemberSource, schema: MemberSchema, q: SelectOptions): AsyncIterable<Record<string, unknown>[]> {
  const w = whereClause(q);
  const names = [schema.key, ...q.columns.filter((c) => c !== schema.key)];
  const cols = names.map((n) => {
    const t = schema.fields.get(n);
    if (!t) throw new Error(`selectMembers: ${n} is not a member field`);
    return `${readableSql(`m.${ident(n)}`, t)} AS ${ident(n)}`;
  });
  const key = `m.${ident(schema.key)}`;
  const order = q.orderBy ? `${q.orderBy}, ${key}` : key;
  const result = await source.conn.stream(`SELECT ${cols.join(", ")} FROM ${ident(source.table)} AS m WHERE ${w.sql} ORDER BY ${order}`, w.params);
  const size = q.chunkSize ?? 10_000;
  let batch: Record<string, unknown>[] = [];
  for await (const rows of result.yieldRowObjectJs()) {
    for (const row of rows) {
      batch.push(row as Record<string, unknown>);
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length) yield batch;
}
