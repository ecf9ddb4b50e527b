import { existsSync } from "node:fs";
import path from "node:path";
import { loadProject } from "../project/load.js";
import type { Ledger } from "./types.js";
import { ledgerPath, SqliteLedger } from "../dispatch/ledger.js";
import { configuredLedgerUrl, openPostgresLedger } from "./select.js";

export interface LedgerLocation {
  /** The SQLite file (`.chuda/state.db`), or ":memory:" for a ledger that writes nothing lasting (a dry run). */
  file: string;
  /** A PostgreSQL URL (CHUDA_LEDGER_URL or `ledger.url_env`): the ledger is there, and `file` is not used. */
  url?: string;
}

/** Opens the configured ledger: PostgreSQL when a URL is given, else SQLite, the embedded default. */
export async function openLedger(where: LedgerLocation): Promise<Ledger> {
  if (where.url) return openPostgresLedger(where.url);
  return new SqliteLedger(where.file);
}

/** Where the ledger of the repository at `root` is, for this environment and project (see `configuredLedgerUrl`). */
export function ledgerLocation(root: string, env: Record<string, string | undefined>, project?: { ledger?: { urlEnv: string } }): LedgerLocation {
  const url = configuredLedgerUrl(env, project);
  return url ? { file: ledgerPath(root), url } : { file: ledgerPath(root) };
}

/** Whether a ledger exists there: a database always does (it is created on first use); a file only once written. */
export function ledgerExists(where: LedgerLocation): boolean {
  return where.url !== undefined || existsSync(where.file);
}

/** `ledgerLocation` for the project whose chuda.yaml is `projectFile` (read only for `ledger.url_env`). */
export async function locateLedger(projectFile: string, env: Record<string, string | undefined>): Promise<LedgerLocation> {
  const root = path.dirname(projectFile);
  if (env.CHUDA_LEDGER_URL) return ledgerLocation(root, env);
  const loaded = await loadProject(projectFile).catch(() => undefined);
  return ledgerLocation(root, env, loaded?.project);
}
