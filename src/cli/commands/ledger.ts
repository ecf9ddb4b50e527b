import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import Database from "better-sqlite3";
import { MESSAGES } from "../../diagnostics/messages/index.js";
import { ledgerPath } from "../../dispatch/ledger.js";
import { copySqliteToPostgres, isSqliteLedger, TargetNotEmptyError, type CopyCounts } from "../../ledger/copy.js";
import { migratePostgres } from "../../ledger/migrations/postgres.js";
import { migrateSqlite } from "../../ledger/migrations/sqlite.js";
import { locateLedger } from "../../ledger/open.js";
import { ledgerError, postgresError } from "../../ledger/select.js";
import { libpqUrl, maskUrl, postgresUrlProblem } from "../../ledger/url.js";
import type { Io } from "../io.js";
import type { ChudaProgram } from "./program.js";
import { resolveProjectFile } from "../workspace.js";

/** The ledger URL of the project (CHUDA_LEDGER_URL or `ledger.url_env`), or undefined for .chuda/state.db. */
async function projectLedgerUrl(projectFile: string, io: Io): Promise<string | undefined> {
  return (await locateLedger(projectFile, io.env)).url;
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: libpqUrl(url), application_name: "chuda" });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return await fn(client);
  } catch (e) {
    if (e instanceof TargetNotEmptyError) throw ledgerError(MESSAGES.ledgerCopyTargetNotEmpty, [maskUrl(url), e.runs, e.sends]);
    throw postgresError(e, url);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const plural = (n: number, one: string, many = one + "s") => `${n} ${n === 1 ? one : many}`;

/** The tables of `chuda serve` a copy carried, when it carried any (`, 3 receipts, 1 suppression`). */
function copiedDelivery(c: CopyCounts): string {
  const parts: [number, string][] = [
    [c.receipts, "receipt"],
    [c.suppressions, "suppression"],
    [c.events, "event"],
    [c.links, "tracked link"],
    [c.clicks, "click"],
  ];
  return parts
    .filter(([n]) => n > 0)
    .map(([n, what]) => `, ${plural(n, what)}`)
    .join("");
}

export function registerLedger(program: ChudaProgram, io: Io): void {
  const ledger = program.command("ledger").description("the dispatch ledger's schema and backend (SQLite .chuda/state.db or PostgreSQL)");

  ledger
    .command("migrate")
    .description("apply the ledger's missing schema steps (runs do this on first use too); PostgreSQL with CHUDA_LEDGER_URL or `ledger.url_env`")
    .run(async () => {
      const projectFile = resolveProjectFile(program.opts().project, io);
      const url = await projectLedgerUrl(projectFile, io);
      let r: { from: number; to: number };
      let where: string;
      if (url) {
        where = maskUrl(url);
        r = await withClient(url, (c) => migratePostgres(c));
      } else {
        const file = ledgerPath(path.dirname(projectFile));
        where = path.relative(io.cwd, file) || file;
        mkdirSync(path.dirname(file), { recursive: true });
        const db = new Database(file);
        try {
          r = migrateSqlite(db);
        } finally {
          db.close();
        }
      }
      io.out(
        r.from === r.to
          ? `ledger ${where}: schema version ${r.to}, up to date\n`
          : `ledger ${where}: schema version ${r.from} → ${r.to} (${plural(r.to - r.from, "step")} applied)\n`,
      );
      return 0;
    });

  ledger
    .command("copy")
    .description("copy a SQLite ledger with its whole history into an empty PostgreSQL ledger")
    .option("--from <file>", "the SQLite ledger (default .chuda/state.db of the project)")
    .option("--to <url>", "the PostgreSQL ledger (default CHUDA_LEDGER_URL or `ledger.url_env`)")
    .run(async (opts: { from?: string; to?: string }) => {
      let from: string;
      let to: string | undefined = opts.to;
      if (opts.from) from = path.resolve(io.cwd, opts.from);
      else from = ledgerPath(path.dirname(resolveProjectFile(program.opts().project, io)));
      const problem = to === undefined ? undefined : postgresUrlProblem(to);
      if (problem) throw ledgerError(MESSAGES.ledgerUrlNotPostgres, ["--to", problem]);
      if (to === undefined) to = await projectLedgerUrl(resolveProjectFile(program.opts().project, io), io);
      if (!to) throw ledgerError(MESSAGES.ledgerCopyNoTarget, []);
      const shown = opts.from ?? path.relative(io.cwd, from);
      if (!existsSync(from) || !isSqliteLedger(from)) throw ledgerError(MESSAGES.ledgerCopySourceMissing, [shown]);
      const target = to;
      const c = await withClient(target, (client) => copySqliteToPostgres(from, client));
      io.out(
        `copied ${shown} → ${maskUrl(target)}: ${plural(c.runs, "run")}, ${plural(c.occurrences, "occurrence")}, ${plural(c.sends, "send")}, ` +
          `${plural(c.test_sends, "test send")}, ${plural(c.tokens, "token")}${copiedDelivery(c)}; ledger id ${c.ledgerId}\n`,
      );
      return 0;
    });
}
