/**
 * The diagnostics formats on a fixed set of diagnostics: SARIF validates against the vendored SARIF 2.1.0
 * schema; `github` workflow commands and `json` are pinned by golden files (UPDATE_GOLDEN=1 rewrites them).
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import path from "node:path";
import Ajv from "ajv-draft-04";
import { expectGolden } from "./golden.js";
import { parseFile } from "../src/language/index.js";
import { parseProject } from "../src/project/load.js";
import { checkProject } from "../src/check/index.js";
import { loadTemplates } from "../src/content/index.js";
import { BUILTIN_EVENT_NAMES } from "../src/calendar/events.js";
import { renderers, sortDiagnostics } from "../src/render/diagnostics/index.js";
import type { Diagnostic } from "../src/diagnostics/types.js";

const DIR = path.join(import.meta.dirname, "fixtures/formats");
const REPO = path.join(import.meta.dirname, "..");

async function diagnostics(): Promise<{ diags: Diagnostic[]; sources: Map<string, string> }> {
  const src = readFileSync(path.join(DIR, "broken.chuda"), "utf8");
  const yaml = readFileSync(path.join(REPO, "chuda.yaml"), "utf8");
  const project = parseProject(yaml, path.join(REPO, "chuda.yaml"), REPO).project!;
  const parsed = parseFile(src, "campaigns/broken.chuda");
  const { templates } = await loadTemplates(REPO);
  const checked = checkProject([{ file: "campaigns/broken.chuda", ast: parsed.ast }], project, { templates, knownEvents: new Set(BUILTIN_EVENT_NAMES) });
  return { diags: sortDiagnostics([...parsed.diagnostics, ...checked.diagnostics]), sources: new Map([["campaigns/broken.chuda", src]]) };
}

function golden(name: string, actual: string) {
  expectGolden(path.join(DIR, name), actual);
}

describe("diagnostic formats", () => {
  it("SARIF validates against the SARIF 2.1.0 schema, with results and rules", async () => {
    const { diags, sources } = await diagnostics();
    expect(diags.length).toBeGreaterThanOrEqual(3);
    const text = renderers.sarif(diags, { sources, files: 1, color: false, version: "0.0.0-test" });
    const log = JSON.parse(text);
    const schema = JSON.parse(readFileSync(path.join(import.meta.dirname, "fixtures/sarif/sarif-schema-2.1.0.json"), "utf8"));
    const ajv = new (Ajv as unknown as typeof Ajv.default)({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false });
    const validate = ajv.compile(schema);
    const ok = validate(log);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    expect(log.runs[0].results).toHaveLength(diags.length);
    expect(log.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri).toBe("campaigns/broken.chuda");
    const ids = log.runs[0].tool.driver.rules.map((r: { id: string }) => r.id);
    for (const r of log.runs[0].results) expect(ids[r.ruleIndex]).toBe(r.ruleId);
    // An empty run still has `results`.
    const empty = JSON.parse(renderers.sarif([], { sources, files: 1, color: false, version: "0" }));
    expect(empty.runs[0].results).toEqual([]);
    expect(validate(empty)).toBe(true);
    // The schema does reject a malformed log (so the check above can fail).
    const bad = structuredClone(log);
    bad.runs[0].results[0].level = "fatal";
    expect(validate(bad)).toBe(false);
  });

  it("github workflow commands and json are pinned by golden files", async () => {
    const { diags, sources } = await diagnostics();
    const ctx = { sources, files: 1, color: false, version: "0.0.0-test" };
    golden("broken.github.txt", renderers.github(diags, ctx));
    golden("broken.json", renderers.json(diags, ctx));
    golden("broken.pretty.txt", renderers.pretty(diags, ctx));
  });

  it("escapes workflow-command data and properties", () => {
    const d: Diagnostic = {
      code: "CH3001",
      severity: "warning",
      message: "50% off,\nnext: line",
      span: { file: "a,b:c.chuda", start: { line: 1, column: 2, offset: 1 }, end: { line: 1, column: 4, offset: 3 } },
    };
    expect(renderers.github([d], { sources: new Map(), files: 1, color: false, version: "0" })).toBe(
      "::warning file=a%2Cb%3Ac.chuda,line=1,col=2,endLine=1,endColumn=4,title=CH3001::50%25 off,%0Anext: line\n",
    );
  });
});
