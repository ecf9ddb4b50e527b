/**
 * The in-memory member table of one test: a DuckDB table typed by the member schema (the same column types a
 * snapshot gets), holding the test's inline rows; fields a row leaves out are NULL (missing).
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { FieldType, MemberSchema } from "../project/types.js";
import type { MemberTable } from "../plan/types.js";
import type { CellValue, MemberRow } from "./schema.js";
import { sqlType } from "../members/snapshot.js";
import { listText } from "../members/list-text.js";
// Identifiers quoted as everywhere else; the test's own values are literals in this in-memory table.
import { ident as q, literal as str } from "../members/sql.js";

function literal(v: CellValue | undefined, t: FieldType): string {
  if (v === null || v === undefined) return "NULL";
  if (Array.isArray(v)) return str(listText(v.map(String))); // stored as `a;b` (list-text.ts)
  if (typeof v === "boolean") return v ? "TRUE" : "FALSE";
  if (typeof v === "number") return t.kind === "number" ? String(v) : str(String(v));
  if (t.kind === "date") return `DATE ${str(v)}`;
  if (t.kind === "datetime") return `TIMESTAMP ${str(v)}`;
  return str(v);
}

export async function createMemberTable(conn: DuckDBConnection, table: string, schema: MemberSchema, rows: MemberRow[]): Promise<MemberTable> {
  const fields = [...schema.fields.entries()];
  await conn.run(`CREATE OR REPLACE TABLE ${q(table)} (${fields.map(([n, t]) => `${q(n)} ${sqlType(t)}`).join(", ")})`);
  if (rows.length)
    await conn.run(`INSERT INTO ${q(table)} VALUES ${rows.map((r) => `(${fields.map(([n, t]) => literal(r.values.get(n), t)).join(", ")})`).join(",\n")}`);
  return { conn, table: q(table), count: rows.length };
}
