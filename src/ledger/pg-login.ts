/** What the ledger and the members read share about a PostgreSQL login that fails before the session starts. */
import type pg from "pg";

/** node-postgres's words when the server asks for a password (SCRAM) and the URL has none, said for a user. */
export function noPasswordReason(message: string): string | undefined {
  return /client password must be a string/.test(message)
    ? "the server asks for a password and the URL gives none (write it after the user name: postgres://USER:…@HOST/DATABASE)"
    : undefined;
}

/** A login the client gave up on (no password for SCRAM) leaves its socket open, which would keep the process alive. */
export function dropFailedLogin(client: pg.Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}
