// One full DuckDB parse of a CSV file into a table, in a process of its own (so that the allocator settings in its
// environment apply from the start): prints the seconds the CREATE TABLE took. Used by simulate.bench-run.ts.
import { DuckDBInstance } from "@duckdb/node-api";

const file = process.argv[2];
const db = await DuckDBInstance.create(":memory:", { threads: "2" });
const conn = await db.connect();
const t0 = performance.now();
await conn.run(`CREATE TABLE t AS SELECT * FROM read_csv('${file.replaceAll("'", "''")}', header = true)`);
process.stdout.write(`${(performance.now() - t0) / 1000}\n`);
