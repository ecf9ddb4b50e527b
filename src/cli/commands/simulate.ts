import { writeFile } from "node:fs/promises";
import { Option } from "commander";
import { plan } from "../../plan/plan.js";
import { presenceOnlyFields } from "../../plan/fields.js";
import { summarize } from "../../simulate/summary.js";
import { wecomTasks } from "../../simulate/wecom-tasks.js";
import { renderSimulationText } from "../../render/simulation.js";
import { renderSimulationHtml } from "../../render/simulation-html.js";
import { writePlanCsv } from "../../render/plan-csv.js";
import { maskDeep } from "../../render/mask.js";
import { dueWindow, occurrenceDays } from "../../plan/window.js";
import type { Io } from "../io.js";
import type { ChudaProgram } from "./program.js";
import { dateRange, parseMoment } from "../moment.js";
import { loadWorkspace, requireValid, selectCampaigns } from "../workspace.js";
import { membersInput, openMembers, type MembersOptions } from "../members.js";
import { prepareOutput, writeOutput } from "../output.js";
import { deliveryRatesUsed, readLedgerView, readSuppressions } from "../history.js";
import type { PlanSuppression } from "../../plan/suppressed.js";
import { watch as chokidarWatch } from "chokidar";
import type { Project } from "../../project/types.js";
import type { ResolvedCampaign } from "../../resolved/types.js";
import type { Workspace } from "../workspace.js";
import type { OpenedMembers } from "../members.js";
import { UsageError } from "../io.js";
import { onInterrupt } from "../signals.js";
import { renderPretty } from "../../render/diagnostics/pretty.js";
import { VERSION } from "../version.js";

export function registerSimulate(program: ChudaProgram, io: Io): void {
  program
    .command("simulate")
    .description("the reach funnel of each campaign against a member snapshot; nothing is sent")
    .argument("[campaigns...]", "only these campaigns")
    .option("--members <file|url>", "member snapshot: CSV (UTF-8 or GBK), JSON Lines or Parquet, or a postgres:// or mysql:// URL (default: members.source)")
    .option("--at <moment>", "what a dispatch at this moment would send (YYYY-MM-DD HH:MM)")
    .option("--from <date>", "first day (default today)")
    .option("--to <date>", "last day (default 29 days after --from)")
    .option("--json", "machine-readable output")
    .option("--plan <file>", "write the member-level plan as CSV (phones masked)")
    .option("--report <file>", "write a self-contained HTML report with charts")
    .addOption(new Option("--encoding <enc>", "snapshot encoding").choices(["auto", "utf-8", "gbk"]).default("auto"))
    .option("--strict", "any rejected snapshot row is an error")
    .option("--no-cache", "parse the snapshot file again instead of reusing its loaded copy under .chuda/cache")
    .option("--watch", "simulate again whenever a campaign, template or chuda.yaml changes (Ctrl-C stops)")
    .run(async (names: string[], opts: SimulateOptions) => {
      if (opts.watch) return watchSimulation(program, io, names, opts);
      const ws = await loadWorkspace(program.opts().project, io);
      const project = requireValid(ws, io);
      const campaigns = selectCampaigns(ws, names);
      membersInput(opts.members, project, io.env); // no members at all is refused before any work
      const { range, due } = daysOf(project, opts, io);

      // Output folders are made (or the paths refused) before the work, not after it.
      const planFile = opts.plan ? prepareOutput(opts.plan, "--plan", io) : undefined;
      const reportFile = opts.report ? prepareOutput(opts.report, "--report", io) : undefined;

      const t0 = performance.now();
      // Opt-outs that name an address (a phone number, an openid) are matched against its value: read in full.
      const suppressed = await readSuppressions(ws.root, project);
      const presence = presenceFor(project, campaigns, ws, opts, suppressed);
      // Duplicate keys are looked for while the planner's walk keeps DuckDB idle; in the rare file that has
      // some, they are removed (and reported) and the plan is made again.
      const members = await openMembers(opts, project, io, presence, true);
      const loadMs = Math.round(performance.now() - t0);
      try {
        return await simulateWith({ ws, project, campaigns, members, loadMs, range, due, planFile, reportFile, opts, io, suppressed });
      } finally {
        members.progress?.finish();
        await members.close();
      }
    });
}

type SimulateOptions = MembersOptions & { at?: string; from?: string; to?: string; json?: boolean; plan?: string; report?: string; watch?: boolean };

/**
 * Fields loaded as present or absent only: without a member-level plan (which lists addresses), an address or
 * sender nothing else reads. WeCom senders are read as text: tasks are counted per staff member.
 */
function presenceFor(project: Project, campaigns: ResolvedCampaign[], ws: Workspace, opts: SimulateOptions, suppressed: PlanSuppression[]): string[] {
  const senders = new Set([...project.channels.values()].filter((c) => c.driver === "wecom" && c.sender).map((c) => c.sender!));
  // Opt-outs that name an address (a phone number, an openid) are matched against its value: read in full.
  const matched = new Set(suppressed.filter((x) => x.address && x.via).map((x) => project.channels.get(x.via!)?.address));
  return opts.plan ? [] : presenceOnlyFields(project, campaigns, ws.templates, ws.check.exclude).filter((f) => !senders.has(f) && !matched.has(f));
}

interface SimulationRun {
  ws: Workspace;
  project: Project;
  campaigns: ResolvedCampaign[];
  members: OpenedMembers;
  loadMs: number;
  range: { from: string; to: string };
  due?: { fromMs: number; toMs: number };
  planFile?: string;
  reportFile?: string;
  opts: SimulateOptions;
  io: Io;
  /** Watch mode: one compact JSON document per line. */
  jsonLines?: boolean;
  /** Members suppressed on a channel (opt-outs, complaints): the planner leaves them out there. */
  suppressed: PlanSuppression[];
}

/** Plans against the open snapshot, prints the funnel (and writes --plan / --report); returns the exit code. */
async function simulateWith(run: SimulationRun): Promise<number> {
  const { ws, project, campaigns, members, loadMs, range, due, planFile, reportFile, opts, io, suppressed } = run;
  // WeCom tasks per staff member: the planner counts sends per staff member and identical message.
  const wecomCampaigns = new Set(campaigns.filter((c) => c.channels.some((ch) => project.channels.get(ch)?.driver === "wecom")).map((c) => c.name));
  const usesWecom = wecomCampaigns.size > 0;
  // With --at, the ledger is read as dispatch reads it: earlier sends count against caps, and occurrences an
  // earlier run planned are planned again for their new members only.
  const ledger = opts.at !== undefined ? await readLedgerView(ws.root, project, campaigns, due) : { history: [], committed: undefined, spent: undefined };
  // With the snapshot cache, campaigns' candidates are kept for the next run, which needs the table final first: the
  // duplicate-key check then runs before planning instead of beside the walk (a cached snapshot needs none).
  if (members.candidates && !(await members.keysUnique())) await members.repairKeys();
  const candidateCache = await members.candidates?.();
  const planOnce = () =>
    plan({
      candidateCache,
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
      senderMessagesFor: wecomCampaigns,
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
  const rates = project.rates === "observed" ? await deliveryRatesUsed(ws.root, project, io.now()) : undefined;
  const summary = summarize(result, project, { members: members.count, rejected: members.rejected }, campaigns, rates);
  if (usesWecom) summary.wecom_tasks = wecomTasks(result.senderMessages ?? [], project);
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
  if (opts.json) io.out((run.jsonLines ? JSON.stringify(maskDeep(summary)) : JSON.stringify(maskDeep(summary), null, 2)) + "\n");
  // Ink (half a second to import) is loaded only for a terminal.
  else if (io.interactive) io.out((await import("../../render/ink/simulation.js")).renderSimulationInk(summary, { color: io.color }));
  else io.out(renderSimulationText(summary, { color: io.color }));
  const contentErrors = summary.campaigns.some((c) => c.problems.some((p) => p.severity === "error"));
  return opts.strict && (members.rejected > 0 || contentErrors) ? 1 : 0;
}

/** The days to plan: --from/--to (30 days from today by default), or what a dispatch at --at would plan. */
function daysOf(project: Project, opts: SimulateOptions, io: Io): { range: { from: string; to: string }; due?: { fromMs: number; toMs: number } } {
  if (opts.at === undefined) return { range: dateRange(opts, io.now(), project.timezone, 30) };
  const due = dueWindow(project, parseMoment(opts.at, project.timezone));
  return { range: occurrenceDays(due, project.timezone), due };
}

/**
 * `simulate --watch`: simulates, then again after every change to a campaign, a template or chuda.yaml, until
 * Ctrl-C (exit 0). The snapshot stays loaded between runs (opened again only when the member schema or the fields
 * a run needs change). A repository with errors prints them and waits for the next change. On a terminal the
 * screen is redrawn; `--json` prints one JSON document per line per run.
 */
async function watchSimulation(program: ChudaProgram, io: Io, names: string[], opts: SimulateOptions): Promise<number> {
  const first = await loadWorkspace(program.opts().project, io);
  const root = first.root;
  let members: OpenedMembers | undefined;
  let membersFor = "";
  let stopped = false;
  let wake: (() => void) | undefined;
  const changed = new Set<string>();
  const watcher = chokidarWatch(["campaigns", "templates", "chuda.yaml"], {
    cwd: root,
    ignoreInitial: true,
    awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 20 },
  });
  watcher.on("all", (_event, file) => {
    changed.add(file);
    wake?.();
  });
  await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
  const unregister = onInterrupt(() => {
    stopped = true;
    wake?.();
  });

  const once = async (ws: Workspace): Promise<void> => {
    const errors = ws.diagnostics.filter((d) => d.severity === "error");
    if (!ws.project || errors.length) {
      if (opts.json)
        io.out(
          JSON.stringify({ valid: false, errors: errors.map((d) => ({ code: d.code, message: d.message, file: d.span.file, line: d.span.start.line })) }) +
            "\n",
        );
      else io.err(renderPretty(errors, { sources: ws.sources, files: ws.files.length, color: io.color, version: VERSION }));
      return;
    }
    const project = ws.project;
    const campaigns = selectCampaigns(ws, names);
    const suppressed = await readSuppressions(ws.root, project);
    const presence = presenceFor(project, campaigns, ws, opts, suppressed);
    const want = JSON.stringify([[...project.members.fields.entries()], project.members.key, presence]);
    if (!members || want !== membersFor) {
      await members?.close();
      members = undefined;
      const t0 = performance.now();
      members = await openMembers(opts, project, io, presence, true);
      membersFor = want;
      members.progress?.finish();
      members.progress = undefined;
      if (io.env.CHUDA_TIMING) io.err(`chuda-timing ${JSON.stringify({ load: Math.round(performance.now() - t0) })}\n`);
    }
    const { range, due } = daysOf(project, opts, io);
    const planFile = opts.plan ? prepareOutput(opts.plan, "--plan", io) : undefined;
    const reportFile = opts.report ? prepareOutput(opts.report, "--report", io) : undefined;
    await simulateWith({ ws, project, campaigns, members, loadMs: 0, range, due, planFile, reportFile, opts, io, jsonLines: true, suppressed });
  };

  try {
    let ws: Workspace | undefined = first;
    for (let run = 0; !stopped; run++) {
      if (!opts.json) {
        const files = [...changed].join(", ");
        if (io.interactive) io.out("\x1b[2J\x1b[H");
        io.err(`${run === 0 ? "simulating" : `simulating again (${files} changed)`} · watching campaigns/, templates/, chuda.yaml · Ctrl-C stops\n`);
      }
      changed.clear();
      try {
        ws ??= await loadWorkspace(program.opts().project, io);
        await once(ws);
      } catch (e) {
        // A user's mistake (an unknown campaign name, a bad date) waits for the fix like a repository error.
        if (!(e instanceof UsageError)) throw e;
        if (opts.json) io.out(JSON.stringify({ valid: false, errors: [{ message: e.message, hint: e.hint }] }) + "\n");
        else io.err(`chuda: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ""}`);
      }
      while (!stopped && changed.size === 0) await new Promise<void>((resolve) => (wake = resolve));
      // Editors save a file in several steps: the changes of the next moment go in the same run.
      await new Promise((r) => setTimeout(r, 100));
      ws = undefined;
    }
    return 0;
  } finally {
    unregister();
    await watcher.close();
    await members?.close();
  }
}
