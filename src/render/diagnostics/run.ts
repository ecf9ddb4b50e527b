import type { Diagnostic, RunDiagnostic } from "../../diagnostics/types.js";
import type { RenderContext } from "./context.js";
import { escapeData, escapeProperty, renderGithub } from "./github.js";
import { type DiagnosticFormat } from "./index.js";
import { diagnosticsJson } from "./json.js";
import { renderPretty } from "./pretty.js";
import { sarifLog, sarifRule } from "./sarif.js";

/** What a failed run prints, and where: machine formats on stdout (where CI reads them), human text on stderr. */
export interface RunFailureOutput {
  stdout: string;
  stderr: string;
}

/**
 * A run that could not run, in the command's format: the file diagnostics that explain it (if any), then the run's
 * own diagnostic, which has no location: `file` and the positions are null in JSON, SARIF gives no `locations`, and
 * the GitHub command names no file. The human form is `chuda: message` and `hint: help`, as before.
 */
export function renderRunFailure(problem: RunDiagnostic, files: readonly Diagnostic[], format: DiagnosticFormat, ctx: RenderContext): RunFailureOutput {
  switch (format) {
    case "json": {
      const out = diagnosticsJson(files, ctx);
      const entry = {
        file: null,
        line: null,
        column: null,
        endLine: null,
        endColumn: null,
        severity: problem.severity,
        code: problem.code,
        message: problem.message,
        help: problem.help ?? null,
      };
      const json = { ...out, diagnostics: [...out.diagnostics, entry], errors: out.errors + (problem.severity === "error" ? 1 : 0) };
      return { stdout: JSON.stringify(json, null, 2) + "\n", stderr: "" };
    }
    case "sarif": {
      const log = sarifLog(files, ctx);
      const run = log.runs[0]!;
      const rules = run.tool.driver.rules;
      let ruleIndex = rules.findIndex((r) => r.id === problem.code);
      if (ruleIndex < 0) ruleIndex = rules.push(sarifRule(problem.code)) - 1;
      const result = {
        ruleId: problem.code,
        ruleIndex,
        level: problem.severity === "error" ? ("error" as const) : ("warning" as const),
        message: { text: problem.help ? `${problem.message} (${problem.help})` : problem.message },
      };
      const sarif = { ...log, runs: [{ ...run, results: [...run.results, result] }] };
      return { stdout: JSON.stringify(sarif, null, 2) + "\n", stderr: "" };
    }
    case "github": {
      const text = problem.help ? `${problem.message} (${problem.help})` : problem.message;
      const line = `::${problem.severity === "error" ? "error" : "warning"} title=${escapeProperty(problem.code)}::${escapeData(text)}\n`;
      return { stdout: renderGithub(files, ctx) + line, stderr: "" };
    }
    case "pretty": {
      const human = `chuda: ${problem.message}\n${problem.help ? `hint: ${problem.help}\n` : ""}`;
      return { stdout: "", stderr: (files.length ? renderPretty(files, ctx) : "") + human };
    }
  }
}
