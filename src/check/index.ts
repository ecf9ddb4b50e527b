/**
 * The checker: parsed `.chuda` files + the project → resolved campaigns (typed IR audiences with segments
 * inlined) and diagnostics. Pure: no I/O. Only campaigns without errors are resolved; warnings keep them.
 */
import type { FileNode } from "../language/ast.js";
import { parseExpression } from "../language/index.js";
import type { Project } from "../project/types.js";
import type { Template } from "../content/types.js";
import type { Diagnostic } from "../diagnostics/types.js";
import type { CheckResult, IR, ResolvedCampaign } from "../resolved/types.js";
import { collectSymbols } from "./symbols.js";
import { Segments } from "./segments.js";
import { checkCampaign } from "./campaign.js";
import { checkCondition } from "./expr.js";

export interface CheckOptions {
  /** Templates by name (`templates/<name>.yaml`). */
  templates: Map<string, Template>;
  /** Built-in calendar event names (the project's `calendar:` names are added here). */
  knownEvents: Set<string>;
  /**
   * Files in the order they were introduced (oldest first, by git history or modification time): of two
   * definitions of one name, the one in the later file is reported. Default: the order of `files`. A function is
   * called only when some name is defined twice (finding the order may ask git).
   */
  introduced?: readonly string[] | (() => readonly string[]);
}

/** `files[].file` is relative to the project root, as in every Span. */
export function checkProject(files: { file: string; ast: FileNode }[], project: Project, opts: CheckOptions): CheckResult {
  const diagnostics: Diagnostic[] = [];
  const symbols = collectSymbols(files, diagnostics, opts.introduced);
  const segments = new Segments(symbols.segments, project.members.fields, project.members.distance !== undefined, diagnostics);
  segments.checkAll();

  const events = new Set<string>([...opts.knownEvents, ...project.calendar.keys()]);
  const env = { project, templates: opts.templates, events, segments, templateDiagnostics: new Map() };
  const campaigns: ResolvedCampaign[] = [];
  for (const c of symbols.campaigns) {
    const r = checkCampaign(c, env, diagnostics);
    if (r) campaigns.push(r);
  }

  const result: CheckResult = { campaigns, diagnostics };
  const exclude = checkExclude(project, segments, diagnostics);
  if (exclude) result.exclude = exclude;
  return result;
}

/** `policy.exclude` of chuda.yaml, parsed and typed like an audience (segments may be used). */
function checkExclude(project: Project, segments: Segments, diagnostics: Diagnostic[]): IR | undefined {
  const src = project.policy.exclude;
  if (!src) return undefined;
  const parsed = parseExpression(src.source, src.span.file || "chuda.yaml", src.span);
  diagnostics.push(...parsed.diagnostics);
  if (!parsed.expr || parsed.diagnostics.some((d) => d.severity === "error")) return undefined;
  const out: Diagnostic[] = [];
  const ir = checkCondition(parsed.expr, segments.envFor(out));
  diagnostics.push(...out);
  return out.some((d) => d.severity === "error") ? undefined : ir;
}
