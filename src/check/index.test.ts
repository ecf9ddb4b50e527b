import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { campaign, check, checkFiles, summary, testProject } from "./test-support.js";
import { checkProject } from "./index.js";
import { parseFile } from "../language/index.js";
import { BUILTIN_EVENTS, testTemplates } from "./test-support.js";

const EXAMPLE = readFileSync(fileURLToPath(new URL("../../test/fixtures/language/complete-example.chuda", import.meta.url)), "utf8");

describe("checkProject", () => {
  it("resolves the complete example of docs/language.md", () => {
    const r = check(EXAMPLE);
    expect(r.diagnostics).toEqual([]);
    const [bday, wake, mid] = r.campaigns;
    expect(bday).toMatchObject({
      name: "birthday_gift",
      title: "会员生日礼",
      file: "campaigns/a.chuda",
      trigger: { kind: "member_date", field: "birthday", fieldType: "date", anniversary: true, time: 570 },
      template: "birthday",
      with: { coupon: "BDAY50", amount: 50 },
      channels: ["wecom", "template_message", "sms"],
      goal: { kind: "redeem", code: "BDAY50", within: { amount: 7, unit: "day" }, expect: 0.12 },
      holdout: 0.1,
      priority: 80,
      repeat: { kind: "per_occurrence" },
    });
    expect(bday!.audience).toMatchObject({ op: "and", args: [{ op: "cmp" }, { op: "within", km: 5 }, { op: "not", arg: { op: "truthy" } }] });
    expect(wake).toMatchObject({
      trigger: {
        kind: "member_date",
        field: "last_purchase_at",
        fieldType: "datetime",
        anniversary: false,
        offset: { amount: 180, unit: "day", direction: "after" },
        time: 600,
      },
      repeat: { kind: "after", duration: { amount: 90, unit: "day" } },
      goal: { kind: "visit", expect: 0.08 },
    });
    expect(wake!.audience).toMatchObject({ op: "and", args: [{ op: "cmp", left: { v: "call", fn: "days_since" } }, { op: "cmp" }, { op: "within" }] });
    expect(mid).toMatchObject({
      trigger: { kind: "event", event: "mid_autumn", offset: { amount: 3, unit: "day", direction: "before" }, time: 600 },
      sendWindow: { start: 540, end: 1200 },
      goal: { kind: "purchase", minAmount: 200, expect: 0.05 },
    });
    expect(mid!.audience).toMatchObject({
      op: "and",
      args: [{ op: "in", list: [{ value: "silver" }, { value: "gold" }, { value: "platinum" }, { value: "diamond" }] }, { op: "within" }],
    });
  });

  it("leaves out campaigns with errors and keeps those with warnings", () => {
    const r = check(campaign({ audience: "teir > 1" }, "broken") + campaign({ trigger: "every day at 22:00" }, "late") + campaign({}, "fine"));
    expect(r.campaigns.map((c) => c.name)).toEqual(["late", "fine"]);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["CH3010", "CH3045"]);
  });

  it("gives campaign diagnostics the campaign as context", () => {
    const r = check(campaign({ audience: "teir > 1" }));
    expect(r.diagnostics[0]!.context).toMatchObject({ start: { line: 1, column: 1 }, end: { line: 7 } });
  });

  it("compiles policy.exclude, which may use segments", () => {
    expect(check("").exclude).toEqual({ op: "truthy", value: { v: "field", name: "unsubscribed", type: { kind: "bool" } } });
    const withSegment = testProject((p) => (p.policy.exclude = { source: "blocked or unsubscribed", span: p.policy.exclude!.span }));
    const r = check('segment blocked = tags has "blacklist"\n', withSegment);
    expect(r.exclude).toMatchObject({ op: "or", args: [{ op: "has" }, { op: "truthy" }] });
    const none = testProject((p) => delete p.policy.exclude);
    expect(check("", none).exclude).toBeUndefined();
  });

  it("reports policy.exclude problems at their place in chuda.yaml", () => {
    const base = { file: "chuda.yaml", start: { line: 40, column: 12, offset: 900 }, end: { line: 40, column: 24, offset: 912 } };
    const p = testProject((p) => (p.policy.exclude = { source: "unsubscrbed", span: base }));
    const r = check("", p);
    expect(r.exclude).toBeUndefined();
    expect(r.diagnostics.map(summary)).toEqual(["CH3010 40:12 unknown name `unsubscrbed`: not a member field or a segment"]);
    expect(r.diagnostics[0]!.span.file).toBe("chuda.yaml");
    expect(r.diagnostics[0]!.help).toBe("did you mean `unsubscribed`?");
  });

  it("checks a thousand files sharing segments, resolving each campaign", () => {
    const files: Record<string, string> = {
      "campaigns/segments.chuda": "segment dormant = days_since(last_purchase_at) >= 180\nsegment nearby = within 5 km\n",
    };
    for (let i = 0; i < 1000; i++) files[`campaigns/c${i}.chuda`] = campaign({ audience: "dormant and nearby and tier >= silver" }, `c${i}`);
    const r = checkFiles(files);
    expect(r.diagnostics).toEqual([]);
    expect(r.campaigns).toHaveLength(1000);
    // Segments are resolved once and shared: every campaign inlines the same IR object.
    const first = (r.campaigns[0]!.audience as { args: unknown[] }).args[0];
    expect((r.campaigns[999]!.audience as { args: unknown[] }).args[0]).toBe(first);
  });

  it("is pure: checking the same input twice gives equal results", () => {
    const parsed = [{ file: "a.chuda", ast: parseFile(EXAMPLE, "a.chuda").ast }];
    const opts = { templates: testTemplates(), knownEvents: BUILTIN_EVENTS };
    expect(checkProject(parsed, testProject(), opts)).toEqual(checkProject(parsed, testProject(), opts));
  });
});
