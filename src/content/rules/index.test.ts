import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Span } from "../../diagnostics/span.js";
import { loadTemplates, parseTemplate } from "../load.js";
import { checkTemplateUse } from "./index.js";

const root = fileURLToPath(new URL("../../../test/fixtures/content", import.meta.url));
const clause: Span = { file: "campaigns/x.chuda", start: { line: 5, column: 3, offset: 80 }, end: { line: 5, column: 40, offset: 117 } };
const fields = new Set(["name", "coupon", "amount", "expire_at", "tier", "mobile"]);

describe("checkTemplateUse", () => {
  it("a valid template used by all its kinds is clean", async () => {
    const t = (await loadTemplates(root, ["good"])).templates.get("good")!;
    expect(checkTemplateUse(t, { kinds: [...t.sections.values()].map((s) => s.kind), variables: fields, span: clause })).toEqual([]);
  });

  it("a kind without a section is an error at the campaign's content clause, naming channel and driver", () => {
    const t = parseTemplate("wecom:\n  text: hi\n", "templates/birthday.yaml", "birthday").template;
    const d = checkTemplateUse(t, { kinds: ["wecom", "sms"], variables: fields, span: clause, channels: [{ name: "sms", driver: "aliyun-sms", kind: "sms" }] });
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ code: "CH5020", severity: "error", span: clause });
    expect(d[0]!.message).toBe("template `birthday` has no `sms` section, but channel `sms` (driver aliyun-sms) is listed");
  });

  it("a variable the campaign does not provide is an error at the variable, with did-you-mean", () => {
    const text =
      'wecom:\n  text: "{{nam}}您好，{{coupon}}"\nsms:\n  sign: 示例广场\n  code: S\n  body: "${a}好。拒收请回复R"\n  params: { a: "{{nam}}{{vip_level}}" }\n';
    const t = parseTemplate(text, "templates/t.yaml", "t").template;
    const d = checkTemplateUse(t, { kinds: ["wecom", "sms"], variables: fields, span: clause });
    expect(d.map((x) => `${x.code} ${x.span.file} ${x.span.start.line}:${x.span.start.column} ${x.help ?? ""}`)).toEqual([
      "CH5021 templates/t.yaml 2:12 did you mean `name`?",
      "CH5021 templates/t.yaml 7:19 did you mean `name`?",
      "CH5021 templates/t.yaml 7:26 add it to the campaign's `with { … }` or to members.fields in chuda.yaml",
    ]);
    expect(d[0]!.message).toBe("template `t` reads `nam`, which is neither a member field nor a `with` value of the campaign");
  });

  it("reports a repeated unknown variable once per section, with the other places as related", () => {
    const t = parseTemplate('wecom:\n  text: "{{x}}{{x}}"\n  link: { title: "{{x}}", url: "https://a.cn" }\n', "templates/t.yaml", "t").template;
    const d = checkTemplateUse(t, { kinds: ["wecom"], variables: fields, span: clause });
    expect(d).toHaveLength(1);
    expect(d[0]!.related).toHaveLength(2);
  });

  it("only checks the sections the campaign uses", async () => {
    const { templates } = await loadTemplates(root, ["bad_sms", "syntax"]);
    expect(checkTemplateUse(templates.get("bad_sms")!, { kinds: [], variables: fields, span: clause })).toEqual([]);
    // syntax.yaml reads `nmae` only in its wecom section.
    expect(checkTemplateUse(templates.get("syntax")!, { kinds: ["sms"], variables: fields, span: clause }).filter((x) => x.code === "CH5021")).toEqual([]);
    expect(checkTemplateUse(templates.get("syntax")!, { kinds: ["wecom"], variables: fields, span: clause }).filter((x) => x.code === "CH5021")).toHaveLength(
      1,
    );
  });

  it("includes the static rules of each used section, with spans into the template file", async () => {
    const t = (await loadTemplates(root, ["bad_sms"])).templates.get("bad_sms")!;
    const d = checkTemplateUse(t, { kinds: ["sms"], variables: fields, span: clause });
    expect(d.length).toBeGreaterThan(3);
    expect(d.every((x) => x.span.file === "templates/bad_sms.yaml")).toBe(true);
  });

  it("works on a Template built without the loader (spans fall back to the section)", () => {
    const section = { kind: "sms" as const, span: clause, raw: { sign: "示例广场", body: "x" } };
    const t = { name: "m", file: "templates/m.yaml", sections: new Map([["sms" as const, section]]), variables: [] };
    const d = checkTemplateUse(t, { kinds: ["sms"], variables: fields, span: clause });
    expect(d.map((x) => x.code)).toEqual(["CH5030", "CH5047"]);
    expect(d[0]!.span).toBe(clause);
  });

  describe("per channel: a section keyed by the channel, and each driver's own rules", () => {
    const SMS = 'sms:\n  sign: "测试广场"\n  code: "SMS_2009"\n  body: "礼券${coupon}已到账。拒收请回复R"\n  params: { coupon: "{{coupon}}" }\n';
    const TENCENT = 'tencent:\n  sign: "测试广场"\n  code: "1000001"\n  body: "礼券${1}已到账。拒收请回复R"\n  params: { 1: "{{coupon}}" }\n';
    const kinds = new Map([["tencent", "sms" as const]]);
    const channels = [
      { name: "sms", driver: "aliyun-sms", kind: "sms" as const },
      { name: "tencent", driver: "tencent-sms", kind: "sms" as const },
    ];

    it("the shared `sms:` section with an Aliyun code is an error for the Tencent channel only", () => {
      const t = parseTemplate(SMS, "templates/flat.yaml", "flat", kinds).template;
      const d = checkTemplateUse(t, { kinds: ["sms"], variables: fields, span: clause, channels });
      expect(d.map((x) => x.code).sort()).toEqual(["CH5083", "CH5084"]);
      expect(d.every((x) => x.message.startsWith("channel `tencent` (driver tencent-sms)"))).toBe(true);
      expect(d.every((x) => x.span.file === "templates/flat.yaml")).toBe(true);
    });

    it("a `tencent:` section is read by that channel instead of `sms:`, and checked against Tencent's rules", () => {
      const parsed = parseTemplate(SMS + TENCENT, "templates/flat.yaml", "flat", kinds);
      expect(parsed.diagnostics).toEqual([]);
      expect(parsed.template.sections.get("tencent")?.kind).toBe("sms");
      expect(checkTemplateUse(parsed.template, { kinds: ["sms"], variables: fields, span: clause, channels })).toEqual([]);
      // Aliyun's rules hold for an Aliyun channel's own section: a numeric code is refused there.
      const aliyun = parseTemplate(TENCENT.replace("tencent:", "ali:"), "templates/flat.yaml", "flat", new Map([["ali", "sms" as const]])).template;
      const d = checkTemplateUse(aliyun, { kinds: ["sms"], variables: fields, span: clause, channels: [{ name: "ali", driver: "aliyun-sms", kind: "sms" }] });
      expect(d.map((x) => x.code).sort()).toEqual(["CH5081", "CH5082"]);
    });

    it("without the channel names, a channel key is an unknown section", () => {
      const parsed = parseTemplate(SMS + TENCENT, "templates/flat.yaml", "flat");
      expect(parsed.diagnostics.map((x) => x.code)).toEqual(["CH5004"]);
    });
  });
});
