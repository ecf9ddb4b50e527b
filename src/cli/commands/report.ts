import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Option } from "commander";
import { recordedCost } from "../../plan/content.js";
import { ledgerPath } from "../../dispatch/ledger.js";
import { outcomeSends, type LedgerOutcomeRow } from "../../outcomes/attribution.js";
import { ledgerExists, ledgerLocation, openLedger } from "../../ledger/open.js";
import { maskUrl } from "../../ledger/url.js";
import { readConversions } from "../../outcomes/conversions.js";
import { buildUpliftReport } from "../../outcomes/uplift.js";
import { renderUpliftHtml } from "../../render/uplift-html.js";
import { renderUpliftText, upliftJson } from "../../render/uplift.js";
import { UsageError, type Io } from "../io.js";
import type { ChudaProgram } from "./program.js";
import { operationsMessages as O } from "../../diagnostics/messages/operations.js";
import { parseDateFlag } from "../moment.js";
import { loadWorkspace, requireValid, selectCampaigns } from "../workspace.js";
import { prepareOutput, writeOutput } from "../output.js";

interface ReportOptions {
  conversions: string;
  from?: string;
  to?: string;
  json?: boolean;
  html?: string;
  ledger?: string;
  encoding: "auto" | "utf-8" | "gbk";
  strict?: boolean;
}

export function registerReport(program: ChudaProgram, io: Io): void {
  program
    .command("report")
    .description("goal attainment and uplift against the holdout: the ledger's sends joined with a conversions export")
    .argument("[campaigns...]", "only these campaigns")
    .requiredOption("--conversions <file>", "conversions export: CSV (UTF-8 or GBK), JSON Lines or Parquet; columns mapped in chuda.yaml `conversions:`")
    .option("--from <date>", "only occurrences sent on or after this day (YYYY-MM-DD)")
    .option("--to <date>", "only occurrences sent on or before this day")
    .option("--json", "machine-readable output (contract: src/outcomes/README.md)")
    .option("--html <file>", "write a self-contained HTML report with the uplift and its interval per campaign")
    .option("--ledger <file>", "dispatch ledger (default .chuda/state.db of the project)")
    .addOption(new Option("--encoding <enc>", "CSV / JSON Lines encoding").choices(["auto", "utf-8", "gbk"]).default("auto"))
    .option("--strict", "any rejected conversions row fails the command (exit 1)")
    .run(async (names: string[], opts: ReportOptions) => {
      const ws = await loadWorkspace(program.opts().project, io);
      const project = requireValid(ws, io);
      const selected = selectCampaigns(ws, names);
      const from = opts.from !== undefined ? parseDateFlag(opts.from, "--from") : undefined;
      const to = opts.to !== undefined ? parseDateFlag(opts.to, "--to") : undefined;
      if (from && to && to < from) throw new UsageError(O.rangeReversed, [to, from]);

      const ledgerFile = opts.ledger ? path.resolve(io.cwd, opts.ledger) : ledgerPath(ws.root);
      // Without --ledger, the configured ledger: PostgreSQL when CHUDA_LEDGER_URL or `ledger.url_env` names one.
      const where = opts.ledger ? { file: ledgerFile } : ledgerLocation(ws.root, io.env, project);
      if (!ledgerExists(where)) throw new UsageError(O.noLedger, [path.relative(io.cwd, ledgerFile) || ledgerFile]);
      const convFile = path.resolve(io.cwd, opts.conversions);
      if (!existsSync(convFile)) throw new UsageError(O.conversionsNotFound, [opts.conversions]);

      const htmlFile = opts.html ? prepareOutput(opts.html, "--html", io) : undefined;

      let conv;
      try {
        conv = await readConversions(convFile, project, { encoding: opts.encoding });
      } catch (e) {
        throw new UsageError(O.conversionsUnreadable, [opts.conversions, (e as Error).message.split("\n")[0]!]);
      }
      if (conv.missingColumns.length) {
        const m = project.conversions;
        const missing = conv.missingColumns.map((c) => `\`${c}\``).join(", ");
        throw new UsageError(O.conversionsColumnsMissing, [opts.conversions, missing, m.member, m.kind, m.code, m.amount, m.time]);
      }
      for (const r of conv.rejected.slice(0, 10)) io.err(`${opts.conversions}:${r.line}: rejected: ${r.reason}\n`);
      if (conv.rejected.length > 10) io.err(`… and ${conv.rejected.length - 10} more rejected rows\n`);

      const ledger = await openLedger(where);
      let rows: LedgerOutcomeRow[];
      try {
        rows = await ledger.outcomeRows();
      } finally {
        await ledger.close();
      }
      const sends = outcomeSends(rows, (r) => recordedCost(project.channels.get(r.channel)?.price, r.content));
      const report = buildUpliftReport({
        sends,
        conversions: conv.conversions,
        campaigns: ws.check.campaigns,
        only: names.length ? selected.map((c) => c.name) : undefined,
        tz: project.timezone,
        from,
        to,
        rejected: conv.rejected.length,
      });
      if (opts.html && htmlFile) {
        await writeOutput(opts.html, "--html", () =>
          writeFile(htmlFile, renderUpliftHtml(report, { mallName: project.mall?.name, conversionsFile: opts.conversions })),
        );
        if (!opts.json) io.err(`report written to ${opts.html}\n`);
      }
      if (opts.json)
        io.out(
          JSON.stringify(
            upliftJson(report, {
              conversionsFile: opts.conversions,
              ledger: where.url ? maskUrl(where.url) : path.relative(ws.root, ledgerFile) || ledgerFile,
            }),
            null,
            2,
          ) + "\n",
        );
      else io.out(renderUpliftText(report, { color: io.color, file: opts.conversions }));
      return opts.strict && conv.rejected.length ? 1 : 0;
    });
}
