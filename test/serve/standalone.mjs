// A stand-in for `chuda serve` in tests, built from the compiled modules in dist/: the /events and /r/<id> routes
// and, with a member snapshot, the event loop. It prints `listening <port>` once it accepts requests.
// Usage: node test/serve/standalone.mjs <project dir> [members file]
import Fastify from "fastify";
import path from "node:path";
import { processIo } from "../../dist/cli/io.js";
import { loadWorkspace, requireValid } from "../../dist/cli/workspace.js";
import { ledgerPath } from "../../dist/dispatch/ledger.js";
import { openLedger } from "../../dist/ledger/open.js";
import { eventRoutes } from "../../dist/serve/routes/events.js";
import { openEventLoop } from "../../dist/serve/event-setup.js";

const [dir, membersFile] = process.argv.slice(2);
const io = { ...processIo(), cwd: path.resolve(dir) };
const ws = await loadWorkspace(dir, io);
const project = requireValid(ws, io);
const ledger = await openLedger({ file: ledgerPath(ws.root) });
const opened = membersFile
  ? await openEventLoop({
      project: dir,
      membersFile,
      io,
      intervalMs: 200,
      clock: () => Date.now(),
      onError: (e) => console.error(e),
      onCycle: (s) => process.env.CHUDA_CYCLE_LOG && console.error(`cycle ${Date.now()} planned=${s?.planned} sent=${s?.sent} occ=${s?.occurrences}`),
    })
  : undefined;
const app = Fastify();
await eventRoutes(app, { project, ledger, clock: () => Date.now(), onEvents: () => opened?.loop.wake() });
if (opened) {
  try {
    const { redirectRoutes } = await import("../../dist/serve/routes/redirect.js");
    await redirectRoutes(app, { project, ledger, clock: () => Date.now() });
  } catch {
    // no redirect routes yet
  }
}
await app.listen({ host: "127.0.0.1", port: 0 });
opened?.loop.start();
process.stdout.write(`listening ${app.server.address().port}\n`);
const stop = async () => {
  await app.close();
  await opened?.close();
  await ledger.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
