import { Option } from "commander";
import { DIAGNOSTIC_FORMATS, renderers, type DiagnosticFormat } from "../../render/diagnostics/index.js";
import type { Io } from "../io.js";
import type { ChudaProgram } from "./program.js";
import { VERSION } from "../version.js";
import { loadWorkspace } from "../workspace.js";
import { perMemberWecomWarnings } from "../../check/wecom.js";

export function registerValidate(program: ChudaProgram, io: Io): void {
  program
    .command("validate")
    .description("parse and check campaigns, templates and chuda.yaml")
    .argument("[paths...]", "campaign files or folders to report on (default: all of campaigns/)")
    .addOption(new Option("--format <format>", "output format").choices(DIAGNOSTIC_FORMATS))
    .option("--strict", "warnings fail too (exit 1)")
    .run(async (paths: string[], opts: { format?: DiagnosticFormat; strict?: boolean }) => {
      const ws = await loadWorkspace(program.opts().project, io, { paths });
      if (ws.project) ws.diagnostics.push(...perMemberWecomWarnings(ws.check.campaigns, ws.project, ws.templates));
      const format = opts.format ?? "pretty";
      io.out(renderers[format](ws.diagnostics, { sources: ws.sources, files: ws.files.length, color: io.color, version: VERSION }));
      const errors = ws.diagnostics.some((d) => d.severity === "error");
      const warnings = ws.diagnostics.some((d) => d.severity === "warning");
      return errors || (opts.strict && warnings) ? 1 : 0;
    });
}
