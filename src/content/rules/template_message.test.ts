import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadTemplates, parseTemplate } from "../load.js";
import type { TemplateMessageContent } from "../types.js";
import { checkRendered, checkSection } from "./index.js";

const root = fileURLToPath(new URL("../../../test/fixtures/content", import.meta.url));
const rules = (data: Record<string, string>, extra: Partial<TemplateMessageContent> = {}) =>
  checkRendered({ kind: "template_message", template_id: "TM1", url: "https://m.example.com", data, ...extra }).map((p) => `${p.rule} ${p.severity}`);

describe("static template-message rules", () => {
  it("bad_template.yaml: template_id, url scheme, miniprogram, obsolete first/remark, length, typed number", async () => {
    const { templates } = await loadTemplates(root, ["bad_template"]);
    const d = checkSection(templates.get("bad_template")!, "template_message");
    expect(d.map((x) => `${x.code} ${x.severity} ${x.span.start.line}`)).toEqual([
      "CH5030 error 1",
      "CH5032 error 2",
      "CH5030 error 3",
      "CH5060 warning 5",
      "CH5031 error 6",
      "CH5062 error 7",
      "CH5060 warning 8",
    ]);
    expect(d.find((x) => x.code === "CH5062")!.help).toBe("`分` is never allowed in a number value");
  });
  it("a template without data is refused; a mini-program target with appid and pagepath passes", () => {
    const t = (y: string) => checkSection(parseTemplate(`template_message:\n${y}`, "templates/t.yaml", "t").template, "template_message").map((x) => x.code);
    expect(t("  template_id: TM1\n")).toEqual(["CH5061"]);
    expect(t("  template_id: TM1\n  miniprogram: { appid: wx1, pagepath: pages/index }\n  data: { thing1: '{{name}}' }\n")).toEqual([]);
  });
});

describe("rendered template-message rules", () => {
  it("untyped values are at most 20 characters and single-line", () => {
    expect(rules({ keyword1: "一".repeat(20) })).toEqual([]);
    expect(rules({ keyword1: "一".repeat(21) })).toEqual(["template.value.length error"]);
    expect(rules({ keyword1: "第一行\n第二行" })).toEqual(["template.value.linebreak error"]);
    expect(rules({ keyword1: "" })).toEqual(["template.value.empty warning"]);
  });
  it("typed keys follow the §6.2 table", () => {
    expect(rules({ thing1: "王伟的生日礼券", amount2: "¥50", time3: "2026-11-30 22:00", character_string4: "BDAY50" })).toEqual([]);
    expect(rules({ thing1: "一".repeat(21) })).toEqual(["template.thing.length error"]);
    expect(rules({ amount2: "50元" })).toEqual(["template.amount.format error"]);
  });
  it("url must be http(s); a miniprogram needs appid and pagepath", () => {
    expect(rules({ thing1: "x" }, { url: "weixin://x" })).toEqual(["template.url.scheme error"]);
    expect(rules({ thing1: "x" }, { miniprogram: { appid: "wx1", pagepath: "" } })).toEqual(["template.miniprogram.pagepath.required error"]);
  });
});
