/**
 * Suppressions (opt-outs recorded in the ledger) inside DuckDB: `plan_suppressed(mkey, channel)` lists the members of
 * the snapshot suppressed on a channel (`*`: every channel). A suppression names a member by key (a manual entry) or
 * by an address on a channel (a pushed opt-out: a phone number, an openid), matched against that channel's address
 * field, phone numbers in any usual form. The candidates then treat the member as unreachable on that channel: the
 * campaign falls back to its next channel, or the member is left out.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { Project } from "../project/types.js";

export const SUPPRESSED_TABLE = "plan_suppressed";

/** A suppression as the planner reads it. */
export interface PlanSuppression {
  member: string | null;
  channel: string;
  address: string | null;
  via: string | null;
}

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** SQL of an address column in the form suppressions store it (mainland mobile numbers as 11 digits). */
function normalizedAddress(col: string): string {
  const v = `trim(CAST(${col} AS VARCHAR))`;
  return `CASE WHEN regexp_full_match(${v}, '(\\+86|0086|86)?1[0-9]{10}') THEN right(${v}, 11) ELSE ${v} END`;
}

/** Builds `plan_suppressed` for the member table; returns how many members are suppressed on some channel. */
export async function loadSuppressed(conn: DuckDBConnection, project: Project, membersTable: string, rows: PlanSuppression[]): Promise<number> {
  await conn.run(`CREATE OR REPLACE TEMP TABLE plan_suppressed_raw (member VARCHAR, channel VARCHAR, address VARCHAR, via VARCHAR)`);
  const appender = await conn.createAppender("plan_suppressed_raw", "main", "temp");
  for (const r of rows) {
    for (const v of [r.member, r.channel, r.address, r.via]) {
      if (v === null) appender.appendNull();
      else appender.appendVarchar(v);
    }
    appender.endRow();
  }
  appender.closeSync();
  const key = `CAST(m.${q(project.members.key)} AS VARCHAR)`;
  // One equi-join per way of naming a member (hash joins), not one join with ORs (a nested loop over the snapshot).
  const parts = [`SELECT ${key} AS mkey, s.channel FROM plan_suppressed_raw s JOIN ${membersTable} m ON s.member = ${key} WHERE s.member IS NOT NULL`];
  for (const c of project.channels.values())
    parts.push(
      `SELECT ${key} AS mkey, s.channel FROM plan_suppressed_raw s JOIN ${membersTable} m ON s.address = ${normalizedAddress(`m.${q(c.address)}`)} WHERE s.via = ${lit(c.name)} AND s.address IS NOT NULL`,
    );
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${SUPPRESSED_TABLE} AS SELECT DISTINCT mkey, channel FROM (${parts.join(" UNION ALL ")})`);
  await conn.run(`DROP TABLE plan_suppressed_raw`);
  const r = await conn.runAndReadAll(`SELECT COUNT(DISTINCT mkey) FROM ${SUPPRESSED_TABLE}`);
  return Number((r.getRows()[0] as [bigint | number])[0]);
}

/** SQL true when the member (alias `m`) is not suppressed on `channel`. */
export function notSuppressedSql(project: Project, channel: string, alias = "m"): string {
  return `CAST(${alias}.${q(project.members.key)} AS VARCHAR) NOT IN (SELECT mkey FROM ${SUPPRESSED_TABLE} WHERE channel IN (${lit(channel)}, '*'))`;
}
