import type { Ledger } from "./types.js";
import { SqliteLedger } from "../dispatch/ledger.js";

export interface LedgerLocation {
  /** The SQLite file (`.chuda/state.db`), or ":memory:" for a ledger that writes nothing lasting (a dry run). */
  file: string;
}

/** Opens the configured ledger: SQLite, the embedded default. */
export async function openLedger(where: LedgerLocation): Promise<Ledger> {
  return new SqliteLedger(where.file);
}
