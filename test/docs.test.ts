/**
 * The manual in docs/ stays true: every code block marked ```chuda (a campaign file), ```yaml template (a template)
 * or ```yaml chuda.yaml (a project file) must validate, and docs/diagnostics.md is the message table, generated
 * (UPDATE_GOLDEN=1 rewrites it), so every diagnostic code has its entry.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expectGolden } from "./golden.js";
import { beforeAll, describe, expect, it } from "vitest";
import { parseFile } from "../src/language/index.js";
import { loadProject, parseProject } from "../src/project/index.js";
import { checkSection, loadTemplates, parseTemplate, type Template } from "../src/content/index.js";
import { checkProject } from "../src/check/index.js";
import { BUILTIN_EVENT_NAMES } from "../src/calendar/events.js";
import { MESSAGE_TABLES } from "../src/diagnostics/messages/index.js";
import type { Diagnostic } from "../src/diagnostics/types.js";
import type { Project } from "../src/project/types.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const docsDir = path.join(repo, "docs");
const docs = readdirSync(docsDir)
  .filter((f) => f.endsWith(".md"))
  .sort();

interface Block {
  doc: string;
  line: number;
  info: string;
  text: string;
}

function blocks(doc: string): Block[] {
  const out: Block[] = [];
  const lines = readFileSync(path.join(docsDir, doc), "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]!);
    out.push({ doc, line: start + 1, info: open[1]!.trim(), text: body.join("\n") + "\n" });
  }
  return out;
}

const all = docs.flatMap(blocks);
const errors = (d: Diagnostic[]) => d.filter((x) => x.severity === "error").map((x) => `${x.span.start.line}:${x.span.start.column} ${x.code} ${x.message}`);

let project: Project;
let templates: Map<string, Template>;

beforeAll(async () => {
  project = (await loadProject(path.join(repo, "test/fixtures/project/chuda.yaml"))).project!;
  templates = (await loadTemplates(path.join(repo, "test/fixtures/validate"))).templates;
});

describe("docs/ code blocks", () => {
  it("has campaign, template and chuda.yaml blocks to check", () => {
    for (const info of ["chuda", "yaml template", "yaml chuda.yaml"])
      expect(
        all.some((b) => b.info === info),
        info,
      ).toBe(true);
  });

  for (const b of all.filter((b) => b.info === "chuda")) {
    it(`${b.doc}:${b.line} is a campaign file that checks without errors`, () => {
      const parsed = parseFile(b.text, "block.chuda");
      const r = checkProject([{ file: "block.chuda", ast: parsed.ast }], project, { templates, knownEvents: new Set(BUILTIN_EVENT_NAMES) });
      expect(errors([...parsed.diagnostics, ...r.diagnostics])).toEqual([]);
    });
  }

  for (const b of all.filter((b) => b.info === "yaml template")) {
    it(`${b.doc}:${b.line} is a template without errors`, () => {
      const { template, diagnostics } = parseTemplate(b.text, "templates/block.yaml", "block");
      const rules = [...template.sections.keys()].flatMap((kind) => checkSection(template, kind));
      expect(errors([...diagnostics, ...rules])).toEqual([]);
    });
  }

  for (const b of all.filter((b) => b.info === "yaml chuda.yaml")) {
    it(`${b.doc}:${b.line} is a chuda.yaml without errors`, () => {
      const r = parseProject(b.text, path.join(repo, "chuda.yaml"), repo);
      expect(errors(r.diagnostics)).toEqual([]);
    });
  }
});

/** docs/diagnostics.md, from the message table. */
function diagnosticsDoc(): string {
  const out = [
    "# Diagnostics",
    "",
    "Every message chuda can report, by code. Generated from the message table (`src/diagnostics/messages/`) by",
    "`UPDATE_GOLDEN=1 npx vitest run test/docs.test.ts`; a test fails when the two differ. `{0}`, `{1}` … stand for",
    "the names and values of the case at hand.",
    "",
    "| range | stage |",
    "|---|---|",
    "| CH1xxx | the campaign language (lexer, parser) |",
    "| CH2xxx | chuda.yaml |",
    "| CH3xxx | the checker (names, types, clauses, triggers, goals) |",
    "| CH4xxx | the calendar (occurrences) |",
    "| CH5xxx | templates and channel content rules |",
    "| CH6xxx | member snapshots |",
    "| CH7xxx | planning |",
    "| CH8xxx | campaign tests (`tests/*.yaml`) |",
  ];
  const rows = Object.values(MESSAGE_TABLES)
    .flatMap((t) => Object.values(t))
    .sort((a, b) => a.code.localeCompare(b.code));
  const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  out.push("", "| code | severity | message | help | what it means |", "|---|---|---|---|---|");
  for (const d of rows) out.push(`| ${d.code} | ${d.severity} | ${cell(d.message)} | ${cell(d.help ?? "")} | ${cell(d.description)} |`);
  return out.join("\n") + "\n";
}

describe("docs/diagnostics.md", () => {
  it("lists every diagnostic code of the message table", () => {
    const file = path.join(docsDir, "diagnostics.md");
    const want = diagnosticsDoc();
    expectGolden(file, want);
  });
});
