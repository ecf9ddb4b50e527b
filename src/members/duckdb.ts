/**
 * DuckDB's Node API, loaded when a command first opens a database. Imported as an ES module, it would be loaded by
 * every command at its start, and Node would first scan its forty CommonJS files for their exports: a tenth of a
 * second before `validate` or `status` did anything, neither of which needs DuckDB.
 */
import { createRequire } from "node:module";
import type * as DuckDB from "@duckdb/node-api";

const load = createRequire(import.meta.url);
let api: typeof DuckDB | undefined;

/** `DuckDBInstance.create`, loading DuckDB on first use. */
export function createDuckDB(path: string, config?: Record<string, string>): Promise<DuckDB.DuckDBInstance> {
  api ??= load("@duckdb/node-api") as typeof DuckDB;
  return api.DuckDBInstance.create(path, config);
}
