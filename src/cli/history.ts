import { existsSync } from "node:fs";
import { Ledger, ledgerPath } from "../dispatch/ledger.js";
import type { HistorySend } from "../plan/types.js";
import type { Project } from "../project/types.js";
import type { Io } from "./io.js";

/** Sends an earlier dispatch committed to, so that `simulate --at T` plans exactly what `dispatch --at T` would. */
export async function readHistory(root: string, _project: Project, _io: Io): Promise<HistorySend[]> {
  const file = ledgerPath(root);
  if (!existsSync(file)) return [];
  const ledger = new Ledger(file);
  try {
    return ledger.history();
  } finally {
    ledger.close();
  }
}
