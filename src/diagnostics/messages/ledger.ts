import type { MessageDef } from "../types.js";

/**
 * Messages about the ledger's backend (selecting, connecting, migrating, copying): codes CH9200–CH9239. They stop a
 * command (exit 2) before it sends anything; a ledger URL in them always has its password masked.
 */
export const ledgerMessages = {
  ledgerUrlEnvUnset: {
    code: "CH9200",
    severity: "error",
    message: "chuda.yaml puts the ledger at the URL in ${0} (`ledger.url_env`), but {0} is not set",
    help: "set {0} to the PostgreSQL URL where chuda runs (a secret store, an env file), or remove `ledger:` to use .chuda/state.db",
    description: "The environment variable that chuda.yaml names for the ledger URL is not set.",
  },
  ledgerUrlNotPostgres: {
    code: "CH9201",
    severity: "error",
    message: "{0} is not a PostgreSQL URL: {1}",
    help: "write postgres://USER:PASSWORD@HOST:5432/DATABASE (the SQLite ledger needs no URL)",
    description: "The ledger URL (CHUDA_LEDGER_URL, `ledger.url_env`, `ledger copy --to`) is not a postgres:// URL.",
  },
  ledgerConnect: {
    code: "CH9202",
    severity: "error",
    message: "cannot open the ledger {0}: {1}",
    help: "check that the server is reachable from here, the database exists and the user may create tables in it",
    description: "The PostgreSQL ledger could not be reached or opened.",
  },
  ledgerSchemaTooNew: {
    code: "CH9203",
    severity: "error",
    message: "the ledger {0} has schema version {1}, newer than this chuda knows ({2})",
    help: "a newer chuda migrated it: upgrade chuda on this machine too",
    description: "The ledger's schema was migrated by a newer chuda.",
  },
  ledgerCopySourceMissing: {
    code: "CH9204",
    severity: "error",
    message: "no SQLite ledger at {0}",
    help: "name the ledger file to copy, usually .chuda/state.db",
    description: "`chuda ledger copy --from` names a file that does not exist or is not a chuda ledger.",
  },
  ledgerCopyTargetNotEmpty: {
    code: "CH9205",
    severity: "error",
    message: "the ledger {0} already holds {1} runs and {2} sends; copying into it would mix two histories",
    help: "copy into a new, empty database",
    description: "`chuda ledger copy --to` names a PostgreSQL ledger that already has history.",
  },
  ledgerCopyNoTarget: {
    code: "CH9206",
    severity: "error",
    message: "no PostgreSQL ledger to copy to",
    help: "give --to postgres://…, or set CHUDA_LEDGER_URL (or `ledger: { url_env }` in chuda.yaml)",
    description: "`chuda ledger copy` has no target: neither --to nor a configured PostgreSQL ledger.",
  },
  ledgerLost: {
    code: "CH9207",
    severity: "error",
    message: "the ledger {0} failed during the run: {1}",
    help: "sends marked in flight stay so until the next run reconciles them; none is sent twice",
    description: "The connection to the PostgreSQL ledger failed while a command was using it.",
  },
  ledgerLeaseSeconds: {
    code: "CH9208",
    severity: "error",
    message: "CHUDA_LEDGER_LEASE_SECONDS is `{0}`: it must be a number of seconds, at least 1",
    help: "leave it unset for 120 s; it should be far longer than a provider call with its retries",
    description:
      "The lease of a PostgreSQL ledger's workers on their sends is not a number of seconds. A wrong value is never replaced by the default silently: too short a lease lets another worker take sends still being sent.",
  },
} satisfies Record<string, MessageDef>;
