import { ledgerExists, ledgerLocation, openLedger } from "../ledger/open.js";
import { committedSpend } from "../dispatch/runner.js";
import type { ResolvedCampaign } from "../resolved/types.js";
import type { HistorySend } from "../plan/types.js";
import type { PlanSuppression } from "../plan/suppressed.js";
import type { DeliveryRateUsed } from "../simulate/summary.js";
import type { Project } from "../project/types.js";

/** What the planner reads of the ledger: earlier sends (caps, quotas, repeat) and the members already planned. */
export interface LedgerView {
  history: HistorySend[];
  /** Per occurrence an earlier run planned, its members (see `Ledger.committed`). */
  committed: Map<string, Set<string>>;
  /** What those members' sends cost, for budgets. */
  spent: Map<string, number>;
}

/** The opt-outs in force in the ledger (SQLite or PostgreSQL, as configured), for the planner (none without a ledger). */
export async function readSuppressions(root: string, project: Project): Promise<PlanSuppression[]> {
  const where = ledgerLocation(root, process.env, project);
  if (!ledgerExists(where)) return [];
  const ledger = await openLedger(where);
  try {
    return (await ledger.suppressions()).map((s) => ({ member: s.member, channel: s.channel, address: s.address, via: s.via }));
  } finally {
    await ledger.close();
  }
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

/** Fewest sends with a final receipt for an observed delivery rate to replace the configured one. */
export const MIN_OBSERVED_SAMPLE = 200;
const OBSERVED_WINDOW_MS = 30 * 86_400_000;

/**
 * `rates: observed`: each channel's delivery rate over the sends of the last 30 days that have a final receipt, or
 * the channel's configured `rates.delivered` when fewer than MIN_OBSERVED_SAMPLE have one.
 */
export async function deliveryRatesUsed(root: string, project: Project, now: number): Promise<Record<string, DeliveryRateUsed>> {
  const where = ledgerLocation(root, process.env, project);
  let observed = new Map<string, { rate: number; sample: number }>();
  if (ledgerExists(where)) {
    const ledger = await openLedger(where);
    try {
      observed = await ledger.observedDelivery(now - OBSERVED_WINDOW_MS);
    } finally {
      await ledger.close();
    }
  }
  const out: Record<string, DeliveryRateUsed> = {};
  for (const c of project.channels.values()) {
    const o = observed.get(c.name);
    out[c.name] =
      o && o.sample >= MIN_OBSERVED_SAMPLE
        ? { rate: Math.round(o.rate * 10000) / 10000, source: "observed", sample: o.sample }
        : { rate: c.rates.delivered ?? 1, source: "configured", sample: o?.sample ?? 0 };
  }
  return out;
}
