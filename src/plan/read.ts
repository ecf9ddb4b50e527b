/**
 * Reading a campaign's candidates back from DuckDB into the walk: the sendable ones of all occurrences at once into
 * typed arrays (plain simulation), the rows of many small occurrences bucketed in one query (business events), or an
 * occurrence's rows with member keys and field values, in chunks (member rows, inline rendering). And the counts the
 * walk never needs to see member by member (unreachable members), counted in DuckDB.
 */
import type { DuckDBDataChunk, DuckDBResult } from "@duckdb/node-api";
import { ident as q } from "../members/sql.js";
import type { PlanInput } from "./types.js";

/** A streamed result's chunks, up to the first empty one. */
export async function* chunksOf(result: DuckDBResult): AsyncGenerator<DuckDBDataChunk> {
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) return;
    yield chunk;
  }
}

/** One batch of an occurrence's candidates, as the walk reads them. */
export interface CandidateBatch {
  rows: number;
  rid: ArrayLike<number>;
  held: ArrayLike<boolean>;
  chans: ArrayLike<number>;
  mkeys: ArrayLike<string | null>;
  fieldCols: ArrayLike<unknown>[];
}

/** An occurrence's candidates with member keys and field values, streamed from DuckDB in chunks. */
export async function* streamCandidates(
  conn: PlanInput["members"]["conn"],
  table: string,
  occ: number,
  memberKeys: boolean,
  fields: string[],
): AsyncGenerator<CandidateBatch> {
  const cols = ["rid", "held", "chans", memberKeys ? "mkey" : "NULL", ...fields.map((f) => q("f_" + f))];
  const result = await conn.stream(`SELECT ${cols.join(", ")} FROM ${table} WHERE occ = ${occ}`);
  for await (const chunk of chunksOf(result)) {
    yield {
      rows: chunk.rowCount,
      rid: chunk.getColumnValues(0) as number[],
      held: chunk.getColumnValues(1) as boolean[],
      chans: chunk.getColumnValues(2) as number[],
      mkeys: chunk.getColumnValues(3) as string[],
      fieldCols: fields.map((_, j) => chunk.getColumnValues(4 + j) as unknown[]),
    };
  }
}

/** Every candidate row of a campaign, bucketed by occurrence (for campaigns with many small occurrences). */
export async function readByOccurrence(
  conn: PlanInput["members"]["conn"],
  table: string,
  memberKeys: boolean,
  fields: string[],
): Promise<Map<number, CandidateBatch>> {
  const cols = ["occ", "rid", "held", "chans", memberKeys ? "mkey" : "NULL", ...fields.map((f) => q("f_" + f))];
  const rows = (await conn.runAndReadAll(`SELECT ${cols.join(", ")} FROM ${table} ORDER BY occ`)).getRows();
  type Growing = { rows: number; rid: number[]; held: boolean[]; chans: number[]; mkeys: (string | null)[]; fieldCols: unknown[][] };
  const out = new Map<number, Growing>();
  for (const r of rows) {
    const occ = Number(r[0]);
    let b = out.get(occ);
    if (!b) out.set(occ, (b = { rows: 0, rid: [], held: [], chans: [], mkeys: [], fieldCols: fields.map(() => []) }));
    b.rid.push(Number(r[1]));
    b.held.push(r[2] as boolean);
    b.chans.push(Number(r[3]));
    b.mkeys.push(r[4] as string | null);
    fields.forEach((_, j) => b.fieldCols[j]!.push(r[5 + j]));
    b.rows++;
  }
  return out;
}

/**
 * A campaign's sendable candidates (some channel reachable; held out or not, since the holdout is drawn from those
 * the walk would send) for all its occurrences, read in one scan into typed arrays straight from DuckDB's
 * vectors: the walk then never waits on a query.
 */
export async function readSendable(
  conn: PlanInput["members"]["conn"],
  table: string,
  occCount: number,
  total: number,
  orderMatters: boolean,
  everyOccurrence = false,
) {
  // Sized once from the count (fresh memory costs a page fault a page; doubling would touch twice as much).
  let rid = new Int32Array(Math.max(total, 1));
  let chans = new Int32Array(Math.max(total, 1));
  let held = new Uint8Array(Math.max(total, 1));
  let sorted = true;
  let lastOcc = 0;
  const start = new Int32Array(occCount + 1);
  let n = 0;
  // Where order inside an occurrence is free, members come in row order: the walk then reads and writes the
  // per-member state arrays in ascending order (memory access, not arithmetic, is what the walk spends its
  // time on). Otherwise the table is already in occurrence, then limit, order.
  // A shared table (occ = -1) is read as the one occurrence 0 that every occurrence's slice returns.
  const result = await conn.stream(
    `SELECT ${everyOccurrence ? "0" : "occ"} AS occ, rid, chans, CAST(held AS UTINYINT) AS held FROM ${table} WHERE chans <> 0${orderMatters ? "" : " ORDER BY occ, rid"}`,
  );
  for await (const chunk of chunksOf(result)) {
    const rows = chunk.rowCount;
    if (n + rows > rid.length) {
      const size = Math.max(rid.length * 2, n + rows);
      const r2 = new Int32Array(size);
      r2.set(rid.subarray(0, n));
      rid = r2;
      const c2 = new Int32Array(size);
      c2.set(chans.subarray(0, n));
      chans = c2;
      const h2 = new Uint8Array(size);
      h2.set(held.subarray(0, n));
      held = h2;
    }
    const occV = int32Column(chunk, 0);
    rid.set(int32Column(chunk, 1), n);
    chans.set(int32Column(chunk, 2), n);
    held.set(uint8Column(chunk, 3), n);
    for (let r = 0; r < rows; r++) {
      const o = occV[r]!;
      if (o < lastOcc) sorted = false;
      lastOcc = o;
      start[o + 1]!++;
    }
    n += rows;
  }
  for (let o = 0; o < occCount; o++) start[o + 1]! += start[o]!;
  if (!sorted) throw new Error(`internal: candidates of ${table} are not in occurrence order`);
  return {
    slice(occ: number): { rid: Int32Array; chans: Int32Array; held: Uint8Array } {
      const o = everyOccurrence ? 0 : occ;
      return { rid: rid.subarray(start[o]!, start[o + 1]!), chans: chans.subarray(start[o]!, start[o + 1]!), held: held.subarray(start[o]!, start[o + 1]!) };
    },
  };
}

/**
 * An INTEGER column of a chunk without NULLs as an Int32Array: the vector's own typed view when the library
 * exposes one at run time (not in its types), else its values.
 */
function int32Column(chunk: DuckDBDataChunk, column: number): ArrayLike<number> {
  const items = (chunk.getColumnVector(column) as unknown as { items?: unknown }).items;
  return items instanceof Int32Array && items.length === chunk.rowCount ? items : (chunk.getColumnValues(column) as number[]);
}

/** A UTINYINT column of a chunk without NULLs, the same way as int32Column. */
function uint8Column(chunk: DuckDBDataChunk, column: number): ArrayLike<number> {
  const items = (chunk.getColumnVector(column) as unknown as { items?: unknown }).items;
  return items instanceof Uint8Array && items.length === chunk.rowCount ? items : (chunk.getColumnValues(column) as number[]);
}

export interface Settled {
  unreachable: number;
  /** Candidates the walk decides: some channel reachable (the holdout is drawn among them). */
  sendable: number;
}

export function sumSendable(perOcc: Map<number, Settled>): number {
  let n = 0;
  for (const s of perOcc.values()) n += s.sendable;
  return n;
}

/**
 * Unreachable members per occurrence, counted in DuckDB (only for campaigns not rendered inline), and how many
 * the walk will decide.
 */
export async function settledCounts(conn: PlanInput["members"]["conn"], tables: string[], inline: boolean[], shared: boolean[], occCounts: number[]) {
  const out: (Map<number, Settled> | undefined)[] = [];
  for (let ci = 0; ci < tables.length; ci++) {
    if (!tables[ci] || inline[ci]) {
      out.push(undefined);
      continue;
    }
    const r = await conn.runAndReadAll(
      `SELECT occ, CAST(count(*) FILTER (WHERE chans = 0) AS INTEGER), CAST(count(*) FILTER (WHERE chans <> 0) AS INTEGER) FROM ${tables[ci]} GROUP BY occ`,
    );
    const counts = new Map((r.getRows() as [number, number, number][]).map(([occ, unreachable, sendable]) => [occ, { unreachable, sendable }]));
    // A shared table's counts (occ = -1) hold for every occurrence.
    const every = counts.get(-1);
    out.push(shared[ci] ? new Map(every ? Array.from({ length: occCounts[ci]! }, (_, o) => [o, every] as const) : []) : counts);
  }
  return out;
}
