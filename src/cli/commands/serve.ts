import path from "node:path";
import type { ChudaProgram } from "./program.js";
import { operationsMessages as O } from "../../diagnostics/messages/operations.js";
import { ledgerPath, writeLedgerMarker } from "../../dispatch/ledger.js";
import { ledgerLocation, openLedger } from "../../ledger/open.js";
import { maskUrl } from "../../ledger/url.js";
import { onInterrupt } from "../signals.js";
import { UsageError, type Io } from "../io.js";
import { loadWorkspace, requireValid } from "../workspace.js";
import { requireLedgerIdentity, requireLedgerIdentityOf } from "./dispatch.js";
import type { OpenedEventLoop } from "../../serve/event-setup.js";

/** How often receipts that came before their send's result are matched again (dispatch also matches them). */
const MATCH_PENDING_MS = 5_000;

function parsePort(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new UsageError(O.badPort, [text]);
  return n;
}

export function registerServe(program: ChudaProgram, io: Io): void {
  program
    .command("serve")
    .description("the always-on side: provider callbacks (delivery receipts, opt-outs) written to the ledger")
    .option("--port <port>", "port to listen on (0: any free port)", "8080")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--new-ledger", "accept a missing or different ledger (.chuda/state.db) and make it this repository's")
    .option(
      "--members <file|url>",
      "member snapshot or database for event-triggered campaigns (default: chuda.yaml's members.source): with members, serve plans and sends them as events arrive",
    )
    .run(async (opts: { port: string; host: string; newLedger?: boolean; members?: string }) => {
      const port = parsePort(opts.port);
      const ws = await loadWorkspace(program.opts().project, io);
      const project = requireValid(ws, io);
      // CHUDA_LEDGER_URL or `ledger.url_env`: the PostgreSQL ledger dispatch writes; else .chuda/state.db.
      const where = ledgerLocation(ws.root, io.env, project);
      if (!where.url) requireLedgerIdentity(ws.root, !!opts.newLedger);
      // Loaded only here: the other commands never pay for the HTTP server.
      const { buildServer } = await import("../../serve/server.js");
      const { createServeContext } = await import("../../serve/context.js");
      const ledger = await openLedger(where);
      try {
        if (where.url) requireLedgerIdentityOf(ws.root, ledger.id, !!opts.newLedger);
      } catch (e) {
        await ledger.close();
        throw e;
      }
      writeLedgerMarker(ws.root, ledger.id);
      // With --members and event campaigns, the event loop plans and sends them as events arrive (same planner,
      // caps, quiet hours, holdout and ledger as dispatch); POST /events wakes it.
      const eventCampaigns = ws.check.campaigns.filter((c) => c.trigger.kind === "business_event");
      let events: OpenedEventLoop | undefined;
      let logCycleError = (_e: unknown): void => {};
      // The members: --members (a file or a database URL), else the database chuda.yaml names (`members.source`).
      if ((opts.members || project.members.source?.urlEnv) && eventCampaigns.length) {
        const { openEventLoop } = await import("../../serve/event-setup.js");
        events = await openEventLoop({
          project: program.opts().project,
          membersFile: opts.members,
          io,
          clock: () => io.now(),
          onError: (e) => logCycleError(e),
        });
      }
      const ctx = createServeContext({
        project,
        root: ws.root,
        ledger,
        clock: () => io.now(),
        env: io.env,
        logLevel: io.env.CHUDA_LOG_LEVEL || "info",
        ...(events ? { onEvents: () => events.loop.wake() } : {}),
      });
      logCycleError = (e) => ctx.logger.error({ err: String(e) }, "event loop: a cycle failed; the next one tries again");
      const app = await buildServer(ctx);
      let address: string;
      try {
        address = await app.listen({ port, host: opts.host });
      } catch (e) {
        await events?.close();
        await ledger.close();
        const err = e as NodeJS.ErrnoException;
        throw new UsageError(O.cannotListen, [
          `${opts.host}:${port}`,
          err.code === "EADDRINUSE" ? "the port is in use" : err.code === "EADDRNOTAVAIL" ? "no such local address" : err.message,
        ]);
      }
      const timer = setInterval(() => void ledger.matchPendingReceipts().catch(() => undefined), MATCH_PENDING_MS);
      timer.unref();
      events?.loop.start();
      io.out(
        `chuda serve: listening on ${address} (ledger ${where.url ? maskUrl(where.url) : path.relative(ws.root, ledgerPath(ws.root))}${events ? `; ${eventCampaigns.length} event campaign(s) planned as events arrive` : ""})\n`,
      );
      await new Promise<void>((resolve) => {
        onInterrupt((signal) => {
          ctx.logger.info({ signal }, "shutting down: finishing the requests in progress");
          clearInterval(timer);
          // close() stops accepting connections and waits for the requests in progress, whose commits then land.
          void app
            .close()
            .catch(() => undefined)
            .finally(async () => {
              await events?.close().catch(() => undefined);
              await ctx.commit.flush().catch(() => undefined);
              await ledger.close().catch(() => undefined);
              ctx.logger.flush?.();
              resolve();
            });
        });
      });
      io.out("chuda serve: stopped\n");
      return 0;
    });
}
