/** A PostgreSQL server shared by the tests of one file. */
import { afterAll, beforeAll } from "vitest";
import { startPostgres, type PostgresOptions, type PostgresServer } from "./postgres.js";

/**
 * Starts a server before the file's tests and stops it after them, once `closeFirst` has closed what the tests started
 * that talks to it. The returned function gives the server while the tests run.
 */
export function postgresForFile(options: PostgresOptions, closeFirst: () => Promise<unknown> | undefined = () => undefined): () => PostgresServer {
  let server: PostgresServer | undefined;
  beforeAll(async () => {
    server = await startPostgres(options);
  });
  afterAll(async () => {
    await closeFirst();
    await server?.stop();
  });
  return () => server!;
}
