/**
 * Golden tests of the checker: every `test/fixtures/validate/<case>.chuda` is parsed and checked against
 * test/fixtures/project/chuda.yaml (the example of docs/configuration.md) with the templates of test/fixtures/validate/templates/,
 * and its diagnostics are compared with `<case>.diagnostics.txt` (a TypeScript-like baseline: summary lines, then
 * the source with each diagnostic underlined). Update with UPDATE_GOLDEN=1 and review the diff.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { parseFile } from "../src/language/index.js";
import { loadProject } from "../src/project/index.js";
import { loadTemplates } from "../src/content/index.js";
import { checkProject } from "../src/check/index.js";
import { checkWorkspace, suppressFollowOn } from "../src/check/workspace.js";
import { expectGolden } from "./golden.js";
import { BUILTIN_EVENT_NAMES } from "../src/calendar/events.js";
import type { Diagnostic } from "../src/diagnostics/types.js";
import type { Project } from "../src/project/types.js";
import type { Template } from "../src/content/types.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(here, "fixtures", "validate");
const projectFile = path.join(here, "fixtures", "project", "chuda.yaml");
const BUILTIN_EVENTS = BUILTIN_EVENT_NAMES;
const cases = readdirSync(dir)
  .filter((f) => f.endsWith(".chuda"))
  .sort();

let project: Project;
let templates: Map<string, Template>;

beforeAll(async () => {
  const loaded = await loadProject(projectFile);
  expect(loaded.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  project = loaded.project!;
  const t = await loadTemplates(dir);
  expect(t.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  templates = t.templates;
});

/** As every command checks a repository: the checker, the trigger checks, then follow-on diagnostics dropped. */
function run(file: string, text: string): Diagnostic[] {
  const parsed = parseFile(text, file);
  const checked = checkWorkspace([{ file, ast: parsed.ast }], project, { templates });
  return suppressFollowOn([...parsed.diagnostics, ...checked.diagnostics]).sort(
    (a, b) => a.span.start.offset - b.span.start.offset || a.code.localeCompare(b.code),
  );
}

/** `file(line,col): error CH3010: message` lines (with help and related), then the source with each diagnostic underlined. */
export function baseline(file: string, text: string, diags: Diagnostic[]): string {
  const out: string[] = [];
  for (const d of diags) {
    out.push(`${d.span.file}(${d.span.start.line},${d.span.start.column}): ${d.severity} ${d.code}: ${d.message}`);
    if (d.help) out.push(`  help: ${d.help}`);
    for (const r of d.related ?? []) out.push(`  related ${r.span.file}(${r.span.start.line},${r.span.start.column}): ${r.message}`);
  }
  if (!diags.length) out.push("no diagnostics");
  const errors = diags.filter((d) => d.severity === "error").length;
  out.push("", `==== ${file} (${errors} errors, ${diags.length - errors} warnings) ====`);
  const lines = text.replace(/\n$/, "").split("\n");
  lines.forEach((line, i) => {
    out.push(`    ${line}`.trimEnd());
    for (const d of diags.filter((d) => d.span.file === file && d.span.start.line === i + 1)) {
      const end = d.span.end.line === d.span.start.line ? d.span.end.column : line.length + 1;
      out.push(`    ${" ".repeat(d.span.start.column - 1)}${"~".repeat(Math.max(1, end - d.span.start.column))}`);
      out.push(`!!! ${d.severity} ${d.code}: ${d.message}`);
    }
  });
  return out.join("\n") + "\n";
}

describe("validate fixtures", () => {
  it("has cases", () => expect(cases.length).toBeGreaterThan(5));
  for (const c of cases) {
    it(c, () => {
      const text = readFileSync(path.join(dir, c), "utf8");
      const actual = baseline(c, text, run(c, text));
      expectGolden(path.join(dir, c.replace(/\.chuda$/, ".diagnostics.txt")), actual);
    });
  }

  it("checks the complete example of docs/language.md clean and resolves its three campaigns", () => {
    const text = readFileSync(path.join(dir, "example.chuda"), "utf8");
    const parsed = parseFile(text, "example.chuda");
    const r = checkProject([{ file: "example.chuda", ast: parsed.ast }], project, { templates, knownEvents: new Set(BUILTIN_EVENTS) });
    expect(parsed.diagnostics).toEqual([]);
    expect(r.diagnostics).toEqual([]);
    expect(r.campaigns.map((c) => c.name)).toEqual(["birthday_gift", "wake_dormant", "mid_autumn"]);
    expect(r.exclude).toEqual({ op: "truthy", value: { v: "field", name: "unsubscribed", type: { kind: "bool" } } });
  });
});
