import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseProject } from "../project/load.js";
import { parseReason, parseTestFile, reasonText } from "./schema.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const project = parseProject(readFileSync(path.join(ROOT, "chuda.yaml"), "utf8"), path.join(ROOT, "chuda.yaml"), ROOT).project!;
const ctx = { project, campaigns: new Set(["birthday_gift", "new_member_welcome"]) };

describe("test files", () => {
  it("read members, a moment, a range, history and expectations", () => {
    const text = `
campaigns: [birthday_gift]
members:
  - { member_id: S1, tier: gold }
tests:
  - name: one
    at: "2026-12-01 09:30"
    members:
      - { member_id: 1001, tier: gold, birthday: 1990-12-01, tags: [亲子, 美妆], sms_opt_in: true, registered_at: 2026-01-02, points: 12 }
    history:
      - { member: "1001", campaign: new_member_welcome, channel: sms, at: "2026-11-30 10:00" }
    expect:
      - member: "1001"
        sends:
          - { campaign: birthday_gift, channel: wecom, at: "2026-12-01 09:30" }
          - { campaign: birthday_gift, at: 2026-12-02 }
      - { member: S1, nothing: capped by policy.max, campaign: birthday_gift }
  - name: two
    campaigns: [new_member_welcome]
    from: 2026-12-01
    to: 2026-12-07
    expect:
      - { member: S1, sends: [] }
`;
    const r = parseTestFile(text, "tests/x.yaml", ctx);
    expect(r.diagnostics).toEqual([]);
    const [one, two] = r.test.tests;
    expect(one!.campaigns).toEqual(["birthday_gift"]);
    expect(one!.at).toBe("2026-12-01 09:30");
    expect(one!.members.map((m) => m.key)).toEqual(["S1", "1001"]);
    const m = one!.members[1]!.values;
    expect(Object.fromEntries(m)).toEqual({
      member_id: "1001",
      tier: "gold",
      birthday: "1990-12-01",
      tags: ["亲子", "美妆"],
      sms_opt_in: true,
      registered_at: "2026-01-02 00:00:00",
      points: 12,
    });
    expect(one!.history).toEqual([{ member: "1001", campaign: "new_member_welcome", channel: "sms", at: "2026-11-30 10:00" }]);
    expect(one!.expect[0]!.sends!.map((s) => [s.campaign, s.channel, s.at])).toEqual([
      ["birthday_gift", "wecom", "2026-12-01 09:30"],
      ["birthday_gift", undefined, "2026-12-02"],
    ]);
    expect(one!.expect[1]).toMatchObject({ member: "S1", nothing: "capped:policy.max", campaign: "birthday_gift" });
    expect(two).toMatchObject({ name: "two", campaigns: ["new_member_welcome"], from: "2026-12-01", to: "2026-12-07" });
    expect(two!.expect[0]!.sends).toEqual([]);
    expect(one!.span.start.line).toBe(6);
  });

  it("report schema errors with their YAML line and column", () => {
    const file = "test/fixtures/tests/bad-schema.yaml";
    const r = parseTestFile(readFileSync(path.join(ROOT, file), "utf8"), file, ctx);
    const got = r.diagnostics.map((d) => `${d.code} ${d.span.start.line}:${d.span.start.column} ${d.message}`);
    expect(got).toEqual([
      'CH8007 6:32 `tier` is a field of type enum (normal, silver, gold, platinum, diamond); "golden" is not a valid value',
      "CH8006 7:26 `tierr` is not a member field of chuda.yaml",
      "CH8010 10:18 unknown reason `capped by frequency`",
      "CH8011 11:17 member `M9` is not one of this test's members",
      "CH8009 13:5 a test runs either at a moment (`at`) or over days (`from` and `to`), and this test has neither",
      'CH8008 19:60 `at`: "2026-12-01 9:30" is not a moment (YYYY-MM-DD HH:MM) or a day (YYYY-MM-DD)',
    ]);
    expect(r.diagnostics[0]!.help).toBe("did you mean `gold`?");
    expect(r.diagnostics[1]!.help).toBe("did you mean `tier`?");
    expect(r.diagnostics.every((d) => d.span.file === file)).toBe(true);
  });

  it("report YAML syntax errors and a wrong top level", () => {
    const a = parseTestFile("tests:\n  - name: [unclosed\n", "tests/a.yaml", ctx);
    expect(a.diagnostics[0]!.code).toBe("CH8001");
    expect(a.diagnostics[0]!.span.start.line).toBeGreaterThanOrEqual(2);
    const b = parseTestFile("- just a list\n", "tests/b.yaml", ctx);
    expect(b.diagnostics.map((d) => d.code)).toEqual(["CH8002"]);
    const c = parseTestFile("campaigns: [birthday_gfit]\ntests: []\n", "tests/c.yaml", ctx);
    expect(c.diagnostics.map((d) => [d.code, d.help])).toEqual([["CH8005", "did you mean `birthday_gift`?"]]);
  });

  it("reasons read the way people write them", () => {
    expect(parseReason("capped by policy.max")).toBe("capped:policy.max");
    expect(parseReason("Capped  by  repeat")).toBe("capped:repeat");
    expect(parseReason("capped:quota")).toBe("capped:quota");
    expect(parseReason("held out")).toBe("held_out");
    expect(parseReason("held_out")).toBe("held_out");
    expect(parseReason("not in audience")).toBe("not_in_audience");
    expect(parseReason("tired")).toBeUndefined();
    expect(reasonText("capped:limit")).toBe("capped by limit");
  });
});
