import { describe, expect, it } from "vitest";
import { aliyunSmsChannel, projectYaml, testProject } from "../../test/fixtures/project.js";
import { parseTemplate } from "../content/index.js";
import { recordedCost, renderFor } from "./content.js";

const YAML = projectYaml(
  { name: "string", mobile: "phone", sms_ok: "bool" },
  `
channels:
${aliyunSmsChannel(["consent: sms_ok", "price: 0.05 CNY per segment"])}
`,
);
const TEMPLATE = `sms:\n  sign: "示例广场"\n  code: "SMS_1"\n  body: "\${name}您好，您的会员积分即将到期，请在本月内到店使用，逾期将自动清零，感谢您对示例广场的支持。拒收请回复R"\n  params: { name: "{{name}}" }\n`;

describe("the price of one send", () => {
  const project = testProject(YAML);
  const { template } = parseTemplate(TEMPLATE, "templates/points.yaml", "points");
  const price = project.channels.get("sms")!.price;

  it("is the same for `chuda report` (the ledger's stored content) as for simulate and dispatch (the rendered content)", () => {
    // A short name fits one SMS segment, a 30-character one makes two.
    const costs = ["王伟", "长".repeat(30)].map((name) => {
      const planned = renderFor(template, project, "sms", { name });
      return { planned: planned.cost, reported: recordedCost(price, JSON.stringify(planned.content)) };
    });
    expect(costs).toEqual([
      { planned: 0.05, reported: 0.05 },
      { planned: 0.1, reported: 0.1 },
    ]);
  });

  it("counts a send whose stored content cannot be read, or has none, as one message", () => {
    expect(recordedCost(price, "{not json")).toBe(0.05);
    expect(recordedCost(price, null)).toBe(0.05);
    expect(recordedCost(undefined, null)).toBe(0);
  });
});
