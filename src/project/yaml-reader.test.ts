import { describe, expect, it } from "vitest";
import { parseProject } from "./load.js";
import { parseYaml } from "./yaml-reader.js";
import { parseTemplate } from "../content/index.js";
import { parseTestFile } from "../campaign-tests/schema.js";
import type { Diagnostic } from "../diagnostics/types.js";

const SECRET = "sk-live-9f8e7d6c";

/** Lines that break YAML in different ways, each holding the secret-looking value. */
const BROKEN = [
  `  app_secret: "${SECRET}`,
  `  app_secret: ${SECRET}: more`,
  `  app_secret: !secret ${SECRET}`,
  `  app_secret: "${SECRET}\\q"`,
  `  app_secret: [${SECRET}`,
  `  app_secret: @${SECRET}`,
  `\tapp_secret: ${SECRET}`,
];

const words = (ds: Diagnostic[]) => ds.map((d) => `${d.message} ${d.help ?? ""} ${(d.related ?? []).map((r) => r.message).join(" ")}`).join("\n");

describe("the YAML reader", () => {
  it("words every syntax error of chuda.yaml without the value on the broken line, at that line", () => {
    for (const line of BROKEN) {
      const text = `timezone: Asia/Shanghai\nchannels:\n  sms:\n    driver: aliyun-sms\n${line}\n`;
      const { diagnostics } = parseProject(text, "/p/chuda.yaml", "/p");
      expect(diagnostics.length, line).toBeGreaterThan(0);
      expect(words(diagnostics), line).not.toContain(SECRET);
      expect(words(diagnostics), line).not.toContain("sk-live");
      expect(
        diagnostics.some((d) => d.span.start.line >= 5),
        line,
      ).toBe(true);
    }
  });

  it("is the reader of templates and campaign tests too: their syntax errors quote nothing either", () => {
    for (const line of BROKEN) {
      const template = parseTemplate(`sms:\n  sign: "示例广场"\n${line}\n`, "templates/t.yaml", "t");
      expect(template.diagnostics.length, line).toBeGreaterThan(0);
      expect(words(template.diagnostics), line).not.toContain(SECRET);
      const project = parseProject("timezone: Asia/Shanghai\nmembers:\n  key: id\n  fields: { id: string }\n", "/p/chuda.yaml", "/p").project!;
      const tests = parseTestFile(`tests:\n${line}\n`, "tests/t.yaml", { project, campaigns: new Set() });
      expect(tests.diagnostics.length, line).toBeGreaterThan(0);
      expect(words(tests.diagnostics), line).not.toContain(SECRET);
    }
  });

  it("has its own words for every YAML error code (none falls back to the parser's message)", () => {
    const { errors, warnings } = parseYaml(`a: !nope ${SECRET}\nb: "x\\q"\n`, "x.yaml");
    const problems = [...errors, ...warnings];
    expect(problems.map((e) => e.code).sort()).toEqual(["BAD_DQ_ESCAPE", "TAG_RESOLVE_FAILED"]);
    for (const e of problems) expect(e.message).not.toMatch(/nope|\\q|sk-live/);
  });
});
