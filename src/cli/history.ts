import { existsSync } from "node:fs";
import { Ledger, ledgerPath } from "../dispatch/ledger.js";
import type { HistorySend } from "../plan/types.js";

/** What the planner reads of the ledger: earlier sends (caps, quotas, repeat) and the members already planned. */
export interface LedgerView {
  history: HistorySend[];
  /** Per occurrence an earlier run planned, its members (see `Ledger.committed`). */
  committed: Map<string, Set<string>>;
}

/**
 * The ledger as dispatch reads it for a run whose due window is `due`: `simulate --at T` and `preview` then plan
 * exactly what `dispatch --at T` would (a repository that never dispatched has an empty view).
 */
export function readLedgerView(root: string, due?: { fromMs: number; toMs: number }): LedgerView {
  const file = ledgerPath(root);
  if (!existsSync(file)) return { history: [], committed: new Map() };
  const ledger = new Ledger(file);
  try {
    return { history: ledger.history(), committed: due ? ledger.committed(due.fromMs, due.toMs) : new Map() };
  } finally {
    ledger.close();
  }
}
