/**
 * What every command, the language server and the validate goldens check of a repository, and which of the
 * resulting diagnostics are shown: the checker plus the trigger checks, then follow-on and duplicate diagnostics
 * dropped, then at most MAX_DIAGNOSTICS_PER_FILE per file. Pure: the caller reads the files.
 */
import type { FileNode } from "../language/ast.js";
import type { Project } from "../project/types.js";
import type { Template } from "../content/types.js";
import type { Diagnostic } from "../diagnostics/types.js";
import type { CheckResult } from "../resolved/types.js";
import { checkProject, type CheckOptions } from "./index.js";
import { BUILTIN_EVENT_NAMES } from "../calendar/events.js";
import { checkTriggers } from "../calendar/check.js";
import { MESSAGES } from "../diagnostics/messages/index.js";
import { languageMessages } from "../diagnostics/messages/language.js";
import { diag } from "../diagnostics/diag.js";
import { MAX_DIAGNOSTICS_PER_FILE } from "../language/source.js";

const languageCodes = new Set(Object.values(languageMessages).map((m) => m.code));

export interface WorkspaceCheckOptions {
  templates: Map<string, Template>;
  introduced?: CheckOptions["introduced"];
}

/** The checker over the built-in and the project's calendar events, then the trigger checks of the resolved campaigns. */
export function checkWorkspace(files: { file: string; ast: FileNode }[], project: Project, opts: WorkspaceCheckOptions): CheckResult {
  const knownEvents = new Set<string>([...BUILTIN_EVENT_NAMES, ...project.calendar.keys()]);
  const check = checkProject(files, project, { templates: opts.templates, knownEvents, introduced: opts.introduced });
  return { ...check, diagnostics: [...check.diagnostics, ...checkTriggers(check.campaigns, project)] };
}

/**
 * Drops what would only repeat a problem already shown: a clause called missing in a file the parser could not
 * read (the syntax error is reported), and the same diagnostic at the same place twice. Order is kept.
 */
export function suppressFollowOn(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const brokenFiles = new Set(diagnostics.filter((d) => languageCodes.has(d.code)).map((d) => d.span.file));
  const followOn = new Set([MESSAGES.missingClause.code, MESSAGES.missingGoal.code]);
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    if (followOn.has(d.code) && brokenFiles.has(d.span.file)) return false;
    const k = `${d.code}|${d.span.file}|${d.span.start.offset}|${d.span.start.line}|${d.span.start.column}|${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** At most MAX_DIAGNOSTICS_PER_FILE diagnostics per file (in order), then one that counts the rest. */
export function capPerFile(sorted: Diagnostic[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const shown = new Map<string, number>();
  const dropped = new Map<string, Diagnostic[]>();
  for (const d of sorted) {
    const n = shown.get(d.span.file) ?? 0;
    if (n < MAX_DIAGNOSTICS_PER_FILE) {
      shown.set(d.span.file, n + 1);
      out.push(d);
    } else {
      let list = dropped.get(d.span.file);
      if (!list) dropped.set(d.span.file, (list = []));
      list.push(d);
    }
  }
  for (const [file, rest] of dropped) {
    const last = rest[rest.length - 1]!;
    const severity = rest.some((d) => d.severity === "error") ? "error" : "warning";
    let at = out.length - 1;
    while (at >= 0 && out[at]!.span.file !== file) at--;
    out.splice(at + 1, 0, diag(languageMessages.moreDiagnostics, { ...last.span, file }, [rest.length], { severity }));
  }
  return out;
}
