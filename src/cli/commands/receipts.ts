import type { ChudaProgram } from "./program.js";
import { operationsMessages as O } from "../../diagnostics/messages/operations.js";
import { ledgerLocation, openLedger } from "../../ledger/open.js";
import { pullableChannels, pullReceipts } from "../../receipts/run.js";
import { table } from "../../render/style.js";
import { UsageError, type Io } from "../io.js";
import { loadWorkspace, requireValid } from "../workspace.js";
import { requireLedgerIdentity, requireLedgerIdentityOf } from "./dispatch.js";

export function registerReceipts(program: ChudaProgram, io: Io): void {
  const cmd = program.command("receipts").description("delivery receipts");
  cmd
    .command("pull")
    .description(
      "ask the providers for the delivery results of sends without one (Aliyun QuerySendDetails, Tencent PullSmsSendStatus, WeCom get_groupmsg_send_result)",
    )
    .option("--channel <channels...>", "only these channels")
    .option("--json", "machine-readable output")
    .option("--new-ledger", "accept a missing or different ledger (.chuda/state.db)")
    .run(async (opts: { channel?: string[]; json?: boolean; newLedger?: boolean }) => {
      const ws = await loadWorkspace(program.opts().project, io);
      const project = requireValid(ws, io);
      const where = ledgerLocation(ws.root, io.env, project);
      if (!where.url) requireLedgerIdentity(ws.root, !!opts.newLedger);
      for (const c of opts.channel ?? []) {
        const ch = project.channels.get(c);
        if (!ch) throw new UsageError(O.noSuchChannel, [c, [...project.channels.keys()].join(", ")]);
        if (!pullableChannels(project, [c]).length) throw new UsageError(O.nothingToPull, [c, ch.driver]);
      }
      const channels = pullableChannels(project, opts.channel);
      const ledger = await openLedger(where);
      try {
        if (where.url) requireLedgerIdentityOf(ws.root, ledger.id, !!opts.newLedger);
        const result = await pullReceipts(project, ledger, io.env, () => io.now(), channels);
        if (opts.json) io.out(JSON.stringify({ channels: result, delivery: await ledger.delivery() }, null, 2) + "\n");
        else if (!result.length) io.out("no channel of this project has receipts to pull\n");
        else
          io.out(
            table(
              ["channel", "asked", "delivered", "failed", "unmatched"],
              result.map((r) => [r.channel, String(r.asked), String(r.delivered), String(r.failed), String(r.unmatched)]),
              { right: [1, 2, 3, 4] },
            ),
          );
      } finally {
        await ledger.close();
      }
      return 0;
    });
}
