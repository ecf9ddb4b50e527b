import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { Option } from "commander";
import { plan } from "../../plan/plan.js";
import { presenceOnlyFields } from "../../plan/fields.js";
import { summarize } from "../../simulate/summary.js";
import { wecomTasks } from "../../simulate/wecom-tasks.js";
import { renderSimulationText } from "../../report/simulation.js";
import { renderSimulationHtml } from "../../report/simulation-html.js";
import { writePlanCsv } from "../../report/plan-csv.js";
import { maskDeep } from "../../report/mask.js";
import { epochToZoned, addDays } from "../../calendar/time.js";
import type { Io } from "../io.js";
import { dateRange, parseMoment } from "../moment.js";
import { loadWorkspace, requireValid, selectCampaigns } from "../workspace.js";
import { openMembers, type MembersOptions } from "../members.js";
import { prepareOutput, writeOutput } from "../output.js";
import { deliveryRatesUsed, readLedgerView, readSuppressions } from "../history.js";

export function registerSimulate(program: Command, io: Io, done: (code: number) => void): void {
  program
    .command("simulate")
    .description("the reach funnel of each campaign against a member snapshot; nothing is sent")
    .argument("[campaigns...]", "only these campaigns")
    .requiredOption("--members <file>", "member snapshot: CSV (UTF-8 or GBK), JSON Lines or Parquet")
    .option("--at <moment>", "what a dispatch at this moment would send (YYYY-MM-DD HH:MM)")
    .option("--from <date>", "first day (default today)")
    .option("--to <date>", "last day (default 29 days after --from)")
    .option("--json", "machine-readable output")
    .option("--plan <file>", "write the member-level plan as CSV (phones masked)")
    .option("--report <file>", "write a self-contained HTML report with charts")
    .addOption(new Option("--encoding <enc>", "snapshot encoding").choices(["auto", "utf-8", "gbk"]).default("auto"))
    .option("--strict", "any rejected snapshot row is an error")
    .option("--no-cache", "parse the snapshot file again instead of reusing its loaded copy under .chuda/cache")
    .action(async (names: string[], opts: MembersOptions & { at?: string; from?: string; to?: string; json?: boolean; plan?: string; report?: string }) => {
      const ws = await loadWorkspace(program.opts().project, io);
      const project = requireValid(ws, io);
      const campaigns = selectCampaigns(ws, names);
      const tz = project.timezone;
      let range: { from: string; to: string };
      let due: { fromMs: number; toMs: number } | undefined;
      if (opts.at !== undefined) {
        const at = parseMoment(opts.at, tz);
        due = { fromMs: at - project.policy.catchUpMs, toMs: at };
        // Quiet hours and windows can push a send a day or two past its firing day.
        range = { from: addDays(epochToZoned(due.fromMs, tz).date, -3), to: epochToZoned(at, tz).date };
      } else range = dateRange(opts, io.now(), tz, 30);

      // Output folders are made (or the paths refused) before the work, not after it.
      const planFile = opts.plan ? prepareOutput(opts.plan, "--plan", io) : undefined;
      const reportFile = opts.report ? prepareOutput(opts.report, "--report", io) : undefined;

      const t0 = performance.now();
      // Without a member-level plan (which lists addresses), an address or sender nothing else reads is loaded
      // as present or absent only.
      // WeCom tasks per staff member need the member-level plan (who is sent which message by whom).
      const wecomCampaigns = new Set(campaigns.filter((c) => c.channels.some((ch) => project.channels.get(ch)?.driver === "wecom")).map((c) => c.name));
      const usesWecom = wecomCampaigns.size > 0;
      // WeCom senders are read as text: tasks are counted per staff member.
      const senders = new Set([...project.channels.values()].filter((c) => c.driver === "wecom" && c.sender).map((c) => c.sender!));
      // Opt-outs that name an address (a phone number, an openid) are matched against its value: read in full.
      const suppressed = await readSuppressions(ws.root);
      const matched = new Set(suppressed.filter((x) => x.address && x.via).map((x) => project.channels.get(x.via!)?.address));
      const presence = opts.plan
        ? []
        : presenceOnlyFields(project, campaigns, ws.templates, ws.check.exclude).filter((f) => !senders.has(f) && !matched.has(f));
      // Duplicate keys are looked for while the planner's walk keeps DuckDB idle; in the rare file that has
      // some, they are removed (and reported) and the plan is made again.
      const members = await openMembers(opts, project, io, presence, true);
      const loadMs = Math.round(performance.now() - t0);
      if (!members) return done(1);
      try {
        // With --at, the ledger is read as dispatch reads it: earlier sends count against caps, and occurrences an
        // earlier run planned are planned again for their new members only.
        const ledger = opts.at !== undefined ? await readLedgerView(ws.root, project, campaigns, due) : { history: [], committed: undefined, spent: undefined };
        const planOnce = () =>
          plan({
            suppressed,
            project,
            campaigns,
            exclude: ws.check.exclude,
            templates: ws.templates,
            members: members.table,
            from: range.from,
            to: range.to,
            due,
            history: ledger.history,
            committed: ledger.committed,
            spent: ledger.spent,
            memberRows: !!opts.plan,
            memberRowsFor: wecomCampaigns,
            onProgress: (d, t) => members.progress?.update("planning", d, t, `${d.toLocaleString("en-US")}/${t.toLocaleString("en-US")} occurrences`),
            onRenderProgress: (d, t) => members.progress?.update("rendering", d, t, `${d}/${t} campaigns`),
            onWalk: () => void members.keysUnique().catch(() => false),
          });
        let result = await planOnce();
        if (!(await members.keysUnique())) {
          await members.repairKeys();
          result = await planOnce();
        }
        members.progress?.finish();
        if (io.env.CHUDA_TIMING) io.err(`chuda-timing ${JSON.stringify({ load: loadMs, ...result.timings })}\n`);
        const rates = project.rates === "observed" ? deliveryRatesUsed(ws.root, project, io.now()) : undefined;
        const summary = summarize(result, project, { members: members.count, rejected: members.rejected }, campaigns, rates);
        if (usesWecom) summary.wecom_tasks = wecomTasks(result.decisions, project);
        if (opts.at !== undefined) {
          summary.from = opts.at;
          summary.to = opts.at;
        }
        if (opts.plan && planFile) {
          await writeOutput(opts.plan, "--plan", () => writePlanCsv(planFile, result.decisions, project));
          if (!opts.json) io.err(`plan written to ${opts.plan}\n`);
        }
        if (opts.report && reportFile) {
          await writeOutput(opts.report, "--report", () => writeFile(reportFile, renderSimulationHtml(summary, { mallName: project.mall?.name })));
          if (!opts.json) io.err(`report written to ${opts.report}\n`);
        }
        if (opts.json) io.out(JSON.stringify(maskDeep(summary), null, 2) + "\n");
        // Ink (half a second to import) is loaded only for a terminal.
        else if (io.interactive) io.out((await import("../../report/ink/simulation.js")).renderSimulationInk(summary, { color: io.color }));
        else io.out(renderSimulationText(summary, { color: io.color }));
        const contentErrors = summary.campaigns.some((c) => c.problems.some((p) => p.severity === "error"));
        done(opts.strict && (members.rejected > 0 || contentErrors) ? 1 : 0);
      } finally {
        members.progress?.finish();
        await members.close();
      }
    });
}
