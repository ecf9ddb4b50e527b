import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadTemplates, parseTemplate } from "./load.js";
import { analyze } from "./hbs-ast.js";

const root = fileURLToPath(new URL("../../test/fixtures/content", import.meta.url));
const fixture = (name: string) => readFileSync(`${root}/templates/${name}.yaml`, "utf8");
/** 1-based line and column of the n-th occurrence of `needle` in a fixture. */
function where(text: string, needle: string, nth = 1): { line: number; column: number } {
  let idx = -1;
  for (let i = 0; i < nth; i++) idx = text.indexOf(needle, idx + 1);
  const before = text.slice(0, idx);
  const line = before.split("\n").length;
  return { line, column: idx - before.lastIndexOf("\n") };
}

describe("loadTemplates", () => {
  it("loads every fixture, keyed by file name, with relative file paths", async () => {
    const r = await loadTemplates(root);
    expect([...r.templates.keys()]).toEqual(expect.arrayContaining(["good", "bad_sms", "syntax", "shapes", "yaml_error"]));
    expect(r.templates.get("good")!.file).toBe("templates/good.yaml");
    expect(r.diagnostics.every((d) => d.span.file.startsWith("templates/"))).toBe(true);
  });

  it("loads only the named templates", async () => {
    const r = await loadTemplates(root, ["good"]);
    expect([...r.templates.keys()]).toEqual(["good"]);
    expect(r.diagnostics).toEqual([]);
  });

  it("tolerates a project without templates/", async () => {
    const r = await loadTemplates(fileURLToPath(new URL(".", import.meta.url)));
    expect(r.templates.size).toBe(0);
    expect(r.diagnostics).toEqual([]);
  });

  it("reads a valid template into its six sections and its variables, without diagnostics", async () => {
    const { templates, diagnostics } = await loadTemplates(root, ["good"]);
    expect(diagnostics).toEqual([]);
    const t = templates.get("good")!;
    expect([...t.sections.keys()]).toEqual(["wecom", "sms", "template_message", "subscribe_message", "webhook", "file"]);
    const names = new Set(t.variables.map((v) => v.name));
    expect([...names].sort()).toEqual(["amount", "coupon", "expire_at", "name", "tier"]);
    // Helper names are not variables; the SMS body's ${…} are not Handlebars.
    expect(names.has("truncate") || names.has("date") || names.has("yuan") || names.has("default")).toBe(false);
    expect(t.variables.filter((v) => v.kind === "sms").map((v) => v.name)).toEqual(["name", "coupon", "expire_at"]);
    expect(t.sections.get("sms")!.raw.params).toEqual({ name: "{{truncate name 10}}", coupon: "{{coupon}}", date: '{{date expire_at "M月D日"}}' });
    expect(t.sections.get("sms")!.span.start).toMatchObject({ line: 9, column: 1 });
  });

  it("points a variable at its exact line and column, through YAML escapes", async () => {
    const text = fixture("good");
    const t = (await loadTemplates(root, ["good"])).templates.get("good")!;
    const wecomName = t.variables.find((v) => v.kind === "wecom" && v.name === "name")!;
    expect(wecomName.span.start).toMatchObject(where(text, "name \\"));
    expect(wecomName.span.end.column - wecomName.span.start.column).toBe(4);
    // `date: "{{date expire_at \"M月D日\"}}"`: the escaped quotes come after the variable on the same line.
    const smsDate = t.variables.find((v) => v.kind === "sms" && v.name === "expire_at")!;
    expect(smsDate.span.start).toMatchObject(where(text, "expire_at", 1));
    const subDate = t.variables.find((v) => v.kind === "subscribe_message" && v.name === "expire_at")!;
    expect(subDate.span.start).toMatchObject(where(text, "expire_at", 2));
  });
});

describe("diagnostics of the loader", () => {
  it("reports Handlebars syntax errors, unknown helpers, partials and wrong arity at the template's line", async () => {
    const text = fixture("syntax");
    const { diagnostics } = await loadTemplates(root, ["syntax"]);
    const by = (code: string) => diagnostics.filter((d) => d.code === code);
    expect(by("CH5007")).toHaveLength(1);
    expect(by("CH5007")[0]!.span.start.line).toBe(where(text, "{{#if vip}}").line);
    expect(by("CH5007")[0]!.message).toContain("wecom.link.title");
    // In a literal block (`|`), the second line of the value is the file's next line.
    expect(by("CH5008")[0]!.span.start).toMatchObject(where(text, "upper"));
    expect(by("CH5008")[0]!.message).toBe("unknown helper `upper`");
    expect(by("CH5009")[0]!.span.start.line).toBe(where(text, "{{> header}}").line);
    expect(by("CH5013")[0]!.message).toBe("helper `truncate` takes 2 arguments, found 1");
    expect(by("CH5004")[0]!.message).toBe("unknown section `extra` in template `syntax`");
  });

  it("reports YAML errors", async () => {
    const { diagnostics, templates } = await loadTemplates(root, ["yaml_error"]);
    expect(diagnostics.some((d) => d.code === "CH5001" && d.severity === "error")).toBe(true);
    expect(templates.has("yaml_error")).toBe(true);
  });

  it("reports wrong shapes and unknown keys with did-you-mean", async () => {
    const { diagnostics } = await loadTemplates(root, ["shapes"]);
    const msgs = diagnostics.map((d) => `${d.code} ${d.span.start.line} ${d.message}`);
    expect(msgs).toContain("CH5006 2 `wecom.text` must be text, found a list");
    expect(msgs).toContain("CH5005 3 unknown key `attachment` in `wecom`");
    expect(diagnostics.find((d) => d.code === "CH5005")!.help).toContain("did you mean `attachments`?");
    expect(msgs).toContain("CH5006 6 `sms.marketing` must be true or false, found a string");
    expect(msgs).toContain("CH5006 7 `template_message` must be a mapping, found a string");
  });

  it("suggests a section for a misspelt one and warns about an empty file", () => {
    const a = parseTemplate("wecon:\n  text: hi\n", "templates/a.yaml", "a");
    expect(a.diagnostics[0]).toMatchObject({ code: "CH5004", help: "did you mean `wecom`?" });
    expect(a.template.sections.size).toBe(0);
    const b = parseTemplate("# nothing\n", "templates/b.yaml", "b");
    expect(b.diagnostics[0]).toMatchObject({ code: "CH5010", severity: "warning" });
    const c = parseTemplate("- a\n- b\n", "templates/c.yaml", "c");
    expect(c.diagnostics[0]).toMatchObject({ code: "CH5003" });
  });

  it("reports duplicate keys as YAML errors", () => {
    const r = parseTemplate("sms:\n  sign: a\n  sign: b\n", "templates/d.yaml", "d");
    expect(r.diagnostics.some((d) => d.code === "CH5001" && d.span.start.line === 3)).toBe(true);
  });

  it("accepts numbers as text (a Tencent template code) and single-quoted values", () => {
    const r = parseTemplate("sms:\n  code: 2001\n  sign: '示例''广场'\n  body: 'x'\n", "templates/e.yaml", "e");
    expect(r.diagnostics).toEqual([]);
    expect(r.template.sections.get("sms")!.raw.code).toBe(2001);
  });
});

describe("analyze (Handlebars AST)", () => {
  it("collects the top-level variables, not helpers, block-local names or @data", () => {
    const a = analyze(
      "{{#each items}}{{x}}{{../y}}{{else}}{{w}}{{/each}}{{#if vip}}{{z}}{{/if}}{{@root.r}}{{@index}}" +
        '{{lookup m k}}{{date (default d e) "M"}}{{#with p}}{{q}}{{/with}}{{#sec}}{{inner}}{{/sec}}{{this.t}}{{h.i}}' +
        "{{#each list as |it|}}{{it.a}}{{/each}}{{truncate name n=limit}}",
    );
    expect(a.error).toBeUndefined();
    expect(a.variables.map((v) => v.name)).toEqual(["items", "y", "w", "vip", "z", "r", "m", "k", "d", "e", "p", "sec", "t", "h", "list", "name", "limit"]);
  });
  it('reads `birthday` from {{date birthday "M月D日"}} and keeps the always-present text', () => {
    const a = analyze('生日{{date birthday "M月D日"}}快乐{{#if x}}可选{{/if}}');
    expect(a.variables.map((v) => v.name)).toEqual(["birthday", "x"]);
    expect(a.literal).toBe("生日快乐");
    expect(a.constant).toBe(false);
  });
  it("reports a parse error with its line", () => {
    const a = analyze("第一行\n{{name");
    expect(a.error?.line).toBe(2);
  });
});
