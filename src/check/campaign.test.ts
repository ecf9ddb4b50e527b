import { describe, expect, it } from "vitest";
import { campaign, check, checkFiles, summary, template, testProject, testTemplates } from "./test-support.js";

const extra = (line: string) => check(campaign({ extra: line }));
const codes = (r: ReturnType<typeof check>) => r.diagnostics.map(summary);

describe("clauses", () => {
  it("reports each missing required clause at the campaign name, and a missing goal as a warning", () => {
    const r = check('campaign bare "空" {\n  priority 10\n}\n');
    expect(codes(r)).toEqual([
      "CH3030 1:10 campaign `bare` has no `audience` clause",
      "CH3030 1:10 campaign `bare` has no `trigger` clause",
      "CH3030 1:10 campaign `bare` has no `content` clause",
      "CH3030 1:10 campaign `bare` has no `channel` clause",
      "CH3032 1:10 campaign `bare` has no goal",
    ]);
    expect(r.diagnostics[4]!.severity).toBe("warning");
    expect(r.diagnostics[0]!.span.end.column).toBe(14);
  });
  it("keeps a campaign that only lacks a goal", () => {
    const r = check('campaign g {\n  audience sms_opt_in\n  trigger every day\n  content "birthday"\n  channel sms\n}\n');
    expect(codes(r)).toEqual(["CH3032 1:10 campaign `g` has no goal"]);
    expect(r.campaigns).toHaveLength(1);
  });
  it("reports a duplicate clause at the second, naming the first", () => {
    const r = extra("audience points > 1");
    expect(codes(r)).toEqual(["CH3031 7:3 `audience` is written twice in campaign `c`"]);
    expect(r.diagnostics[0]!.related?.[0]).toMatchObject({ message: "the first `audience` is here", span: { start: { line: 2, column: 3 } } });
    expect(r.campaigns).toEqual([]);
  });
  it("resolves defaults", () => {
    const c = check(campaign()).campaigns[0]!;
    expect(c).toMatchObject({
      name: "c",
      file: "campaigns/a.chuda",
      priority: 50,
      holdout: 0,
      repeat: { kind: "per_occurrence" },
      channels: ["wecom", "sms"],
      template: "birthday",
      with: {},
    });
    expect(c.goal).toEqual({ kind: "visit", within: { amount: 7, unit: "day" }, expect: 0.08 });
    expect(c.limit).toBeUndefined();
  });
});

describe("clause values", () => {
  it("priority 0..100", () => {
    expect(codes(extra("priority 101"))).toEqual(["CH3050 7:12 priority must be a whole number from 0 to 100, found 101"]);
    expect(extra("priority 80").campaigns[0]!.priority).toBe(80);
  });
  it("holdout 0..100% as a fraction", () => {
    expect(codes(extra("holdout 120%"))).toEqual(["CH3051 7:11 holdout must be from 0% to 100%, found 120%"]);
    expect(extra("holdout 10%").campaigns[0]!.holdout).toBeCloseTo(0.1);
  });
  it("active ranges", () => {
    expect(codes(extra("active 2026-03-01 .. 2026-02-01"))).toEqual(["CH3052 7:10 the active range ends (2026-02-01) before it starts (2026-03-01)"]);
    expect(codes(extra("active 2026-03-01 .. 2026-02-30"))).toEqual(["CH3024 7:24 `2026-02-30` is not a valid date"]);
    expect(extra("active 2026-03-01 .. 2026-03-01").campaigns[0]!.active).toEqual({ from: "2026-03-01", to: "2026-03-01" });
  });
  it("send windows", () => {
    expect(codes(extra("send between 09:00 and 09:00"))).toEqual(["CH3053 7:16 the send window starts and ends at 09:00, so it is empty"]);
    expect(codes(extra("send between 09:00 and 24:00"))).toEqual(["CH3025 7:26 `24:00` is not a valid time"]);
    expect(extra("send between 20:00 and 08:00").campaigns[0]!.sendWindow).toEqual({ start: 1200, end: 480 });
  });
  it("expire after: a positive fixed-length duration, in ms", () => {
    expect(extra("expire after 6 hours").campaigns[0]!.expireAfterMs).toBe(6 * 3_600_000);
    expect(extra("expire after 30 minutes").campaigns[0]!.expireAfterMs).toBe(30 * 60_000);
    expect(extra("priority 10").campaigns[0]!.expireAfterMs).toBeUndefined();
    expect(codes(extra("expire after 0 hours"))[0]).toMatch(/^CH3071 7:16 `expire after` needs a positive duration/);
    expect(codes(extra("expire after 2 months"))[0]).toMatch(/^CH3071 /);
  });
  it("limits", () => {
    expect(codes(extra("limit 0 members"))).toEqual(["CH3054 7:9 limit must be a positive whole number of members, found 0"]);
    expect(codes(extra("limit 2.5 members"))).toEqual(["CH3054 7:9 limit must be a positive whole number of members, found 2.5"]);
    expect(extra("limit 500 members order by points desc").campaigns[0]!.limit).toEqual({
      count: 500,
      orderBy: { value: { v: "field", name: "points", type: { kind: "number" } }, direction: "desc" },
    });
    expect(codes(extra("limit 5 members order by tags"))).toEqual(["CH3059 7:28 `order by` needs a number, date, text or enum value, found `tags` (list)"]);
  });
  it("budget", () => {
    expect(codes(extra("budget 0 CNY"))).toEqual(["CH3055 7:10 budget must be more than 0, found 0 CNY"]);
    expect(extra("budget ¥50").campaigns[0]!.budget).toBe(50);
  });
  it("repeat", () => {
    expect(codes(extra("repeat after 0 days"))).toEqual(["CH3056 7:16 `repeat after` needs a positive duration, found 0 days"]);
    expect(extra("repeat after 90 days").campaigns[0]!.repeat).toEqual({ kind: "after", duration: { amount: 90, unit: "day" } });
    expect(extra("repeat never").campaigns[0]!.repeat).toEqual({ kind: "never" });
  });
});

describe("goals", () => {
  const goal = (g: string) => check(campaign({ goal: g }));
  it("resolves expect as a fraction, else the project's assumption, else 0", () => {
    expect(goal('redeem "BDAY50" within 7 days expect 15%').campaigns[0]!.goal).toEqual({
      kind: "redeem",
      code: "BDAY50",
      within: { amount: 7, unit: "day" },
      expect: 0.15,
    });
    expect(goal("purchase >= 200 CNY within 14 days").campaigns[0]!.goal).toEqual({
      kind: "purchase",
      minAmount: 200,
      within: { amount: 14, unit: "day" },
      expect: 0.05,
    });
    expect(goal('event "signup" within 3 days').campaigns[0]!.goal).toEqual({ kind: "event", code: "signup", within: { amount: 3, unit: "day" }, expect: 0 });
  });
  it("reports a non-positive within and an expect over 100%", () => {
    expect(codes(goal("visit within 0 days"))).toEqual(["CH3057 6:21 a goal's `within` must be a positive duration, found 0 days"]);
    expect(codes(goal("visit within 3 days expect 150%"))).toEqual(["CH3058 6:35 `expect` must be from 0% to 100%, found 150%"]);
  });
});

describe("channels and content", () => {
  it("reports an unknown channel with a suggestion", () => {
    const r = check(campaign({ channel: "wecom > sns" }));
    expect(codes(r)).toEqual(["CH3033 5:19 unknown channel `sns`"]);
    expect(r.diagnostics[0]!.help).toBe("did you mean `sms`?");
  });
  it("reports a channel listed twice", () => {
    const r = check(campaign({ channel: "sms > wecom > sms" }));
    expect(codes(r)).toEqual(["CH3034 5:25 channel `sms` is listed twice"]);
    expect(r.diagnostics[0]!.related?.[0]?.span.start.column).toBe(11);
  });
  it("reports an unknown template with a suggestion", () => {
    const r = check(campaign({ content: '"birthdy"' }));
    expect(codes(r)).toEqual(["CH3035 4:11 unknown template `birthdy`: there is no templates/birthdy.yaml"]);
    expect(r.diagnostics[0]!.help).toBe("did you mean `birthday`?");
  });
  it("asks the content layer about the channels' sections (third-party drivers skipped)", () => {
    const templates = testTemplates();
    templates.set("wecom_only", template("wecom_only", ["wecom"]));
    const ok = checkFiles({ "c.chuda": campaign({ content: '"wecom_only" with { coupon: "C" }', channel: "wecom > custom" }) }, testProject(), templates);
    expect(ok.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const missing = checkFiles({ "c.chuda": campaign({ content: '"wecom_only" with { coupon: "C" }', channel: "wecom > sms" }) }, testProject(), templates);
    const errors = missing.diagnostics.filter((d) => d.severity === "error");
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((d) => d.code.startsWith("CH5"))).toBe(true);
    expect(missing.campaigns).toEqual([]);
  });
  it("turns `with` values into plain data", () => {
    const r = check(campaign({ content: '"birthday" with { coupon: "BDAY50", amount: 50, price: 9.9 CNY, off: 20%, until: 2026-12-31, vip: true }' }));
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(r.campaigns[0]!.with).toEqual({ coupon: "BDAY50", amount: 50, price: 9.9, off: "20%", until: "2026-12-31", vip: true });
  });
  it("reports a repeated `with` key and an invalid date in `with`", () => {
    expect(codes(check(campaign({ content: '"birthday" with { a: 1, a: 2, coupon: "C" }' })))).toEqual(["CH3036 4:35 `a` is given twice in `with`"]);
    expect(codes(check(campaign({ content: '"birthday" with { d: 2026-13-01, coupon: "C" }' })))).toEqual(["CH3024 4:32 `2026-13-01` is not a valid date"]);
  });
  it("reports a list given in `with`", () => {
    expect(codes(check(campaign({ content: '"birthday" with { l: [1, 2], coupon: "C" }' })))).toEqual([
      "CH3037 4:32 a `with` value must be a single literal (text, number, money, percent, date, bool), found a list",
    ]);
  });
  it("reports a template problem once, naming every campaign that uses the template there", () => {
    const r = check(
      campaign({ content: '"birthday"' }, "one") + campaign({ content: '"birthday"' }, "two") + campaign({ content: '"birthday"', channel: "sms" }, "three"),
    );
    const d = r.diagnostics.filter((d) => d.severity === "error");
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ code: "CH5021", span: { file: "templates/birthday.yaml" } });
    expect(d[0]!.related?.map((x) => [x.message, x.span.start.line])).toEqual([
      ["template `birthday` is used by campaign `one` here", 4],
      ["template `birthday` is used by campaign `two` here", 11],
    ]);
    // `three` only uses the sms section, which does not read `coupon`.
    expect(r.campaigns.map((c) => c.name)).toEqual(["three"]);
  });
});
