import { ledgerExists, ledgerLocation, openLedger } from "../ledger/open.js";
import { committedSpend } from "../dispatch/runner.js";
import type { ResolvedCampaign } from "../resolved/types.js";
import type { HistorySend } from "../plan/types.js";
import type { Project } from "../project/types.js";

/** What the planner reads of the ledger: earlier sends (caps, quotas, repeat) and the members already planned. */
export interface LedgerView {
  history: HistorySend[];
  /** Per occurrence an earlier run planned, its members (see `Ledger.committed`). */
  committed: Map<string, Set<string>>;
  /** What those members' sends cost, for budgets. */
  spent: Map<string, number>;
}

/**
 * The ledger as dispatch reads it for a run whose due window is `due`: `simulate --at T` and `preview` then plan
 * exactly what `dispatch --at T` would (a repository that never dispatched has an empty view).
 */
export async function readLedgerView(
  root: string,
  project: Project,
  campaigns: ResolvedCampaign[],
  due?: { fromMs: number; toMs: number },
): Promise<LedgerView> {
  const where = ledgerLocation(root, process.env, project);
  if (!ledgerExists(where)) return { history: [], committed: new Map(), spent: new Map() };
  const ledger = await openLedger(where);
  try {
    const committed = due ? await ledger.committed(due.fromMs, due.toMs) : new Map<string, Set<string>>();
    return { history: await ledger.history(), committed, spent: await committedSpend(ledger, project, campaigns, committed) };
  } finally {
    await ledger.close();
  }
}
