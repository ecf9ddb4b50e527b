/**
 * Which ledger a command uses: `CHUDA_LEDGER_URL`, else the variable chuda.yaml names in `ledger.url_env`, puts it
 * in PostgreSQL; otherwise it is the SQLite file `.chuda/state.db`. Errors are one line with a code (exit 2), the URL
 * always shown with its password masked.
 */
import { format } from "../diagnostics/types.js";
import { MESSAGES } from "../diagnostics/messages/index.js";
import type { MessageDef } from "../diagnostics/types.js";
import { UsageError } from "../cli/io.js";
import { SchemaTooNewError } from "./migrations/postgres.js";
import { leaseSeconds, PostgresLedger } from "./postgres.js";
import { maskSecretIn, maskUrl, postgresUrlProblem } from "./url.js";
import { noPasswordReason } from "./pg-login.js";

/** A ledger problem as a one-line usage error: the message, its code, and the help line as the hint. */
export function ledgerError(def: MessageDef, args: readonly (string | number)[]): UsageError {
  return new UsageError({
    code: def.code,
    severity: "error",
    message: `${format(def.message, args)} (${def.code})`,
    help: def.help ? format(def.help, args) : undefined,
  });
}

/** The PostgreSQL ledger URL configured for this environment and project, or undefined for the SQLite ledger. */
export function configuredLedgerUrl(env: Record<string, string | undefined>, project?: { ledger?: { urlEnv: string } }): string | undefined {
  const direct = env.CHUDA_LEDGER_URL;
  if (direct) return checkLease(env, checkUrl(direct, "CHUDA_LEDGER_URL"));
  const name = project?.ledger?.urlEnv;
  if (!name) return undefined;
  const url = env[name];
  if (!url) throw ledgerError(MESSAGES.ledgerUrlEnvUnset, [name]);
  return checkLease(env, checkUrl(url, name));
}

/** The workers' lease, when set, must be a number of seconds (a typo is an error, never the default in silence). */
function checkLease(env: Record<string, string | undefined>, url: string): string {
  const raw = env.CHUDA_LEDGER_LEASE_SECONDS;
  if (raw !== undefined && leaseSeconds(raw) === undefined) throw ledgerError(MESSAGES.ledgerLeaseSeconds, [raw.slice(0, 40)]);
  return url;
}

function checkUrl(url: string, source: string): string {
  const problem = postgresUrlProblem(url);
  if (problem) throw ledgerError(MESSAGES.ledgerUrlNotPostgres, [source, problem]);
  return url;
}

/** Opens (and migrates) the PostgreSQL ledger at `url`; a failure is a one-line error naming the masked URL. */
export async function openPostgresLedger(url: string): Promise<PostgresLedger> {
  try {
    return await PostgresLedger.open(url);
  } catch (e) {
    throw postgresError(e, url);
  }
}

/**
 * An error of the PostgreSQL ledger at `url` as a one-line usage error, the password masked: opening it, or (`midRun`)
 * once a run was using it.
 */
export function postgresError(e: unknown, url: string, midRun = false): UsageError {
  if (e instanceof UsageError) return e;
  if (e instanceof SchemaTooNewError) return ledgerError(MESSAGES.ledgerSchemaTooNew, [maskUrl(url), e.found, e.known]);
  const said = maskSecretIn(String((e as Error)?.message ?? e).replace(/^cannot connect to the ledger: /, ""), url);
  const reason = noPasswordReason(said) ?? said;
  return ledgerError(midRun ? MESSAGES.ledgerLost : MESSAGES.ledgerConnect, [maskUrl(url), reason]);
}

/**
 * Whether an error is the PostgreSQL server's or the connection's (a SQLSTATE, a socket error, node-postgres saying
 * the connection is gone), not a bug of chuda: the database going away mid-run is an operator's matter.
 */
export function isPostgresFailure(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown } | undefined;
  const code = typeof err?.code === "string" ? err.code : "";
  const message = typeof err?.message === "string" ? err.message : "";
  return (
    /^[0-9A-Z]{5}$/.test(code) ||
    /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND)$/.test(code) ||
    /Connection terminated|not queryable|connection error|terminating connection/i.test(message)
  );
}
