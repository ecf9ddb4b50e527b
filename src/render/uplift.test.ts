import { describe, expect, it } from "vitest";
import { buildUpliftReport } from "../outcomes/uplift.js";
import type { OutcomeSend } from "../outcomes/attribution.js";
import type { Conversion } from "../outcomes/conversions.js";
import { renderUpliftText, upliftJson } from "./uplift.js";
import { renderUpliftHtml } from "./uplift-html.js";

const at = Date.UTC(2026, 11, 1, 2, 0);
const s = (campaign: string, member: string, group: OutcomeSend["group"]): OutcomeSend => ({
  campaign,
  occurrence: "2026-12-01T10:00+08:00",
  member,
  group,
  sendAt: at,
  channels: [],
  cost: group === "treated" ? 0.5 : 0,
  sent: group === "treated",
  delivered: null,
  opened: null,
});
const sends = [
  ...Array.from({ length: 10 }, (_, i) => s("bday", `T${i}`, "treated")),
  ...Array.from({ length: 10 }, (_, i) => s("bday", `C${i}`, "control")),
  s("welcome", "W1", "treated"),
];
const conversions: Conversion[] = [
  ...Array.from({ length: 5 }, (_, i) => ({ member: `T${i}`, kind: "redeem" as const, code: "B", amount: 100, at: at + 3_600_000, line: i + 2 })),
  { member: "C0", kind: "redeem", code: "B", amount: 100, at: at + 3_600_000, line: 9 },
];
const report = buildUpliftReport({
  sends,
  conversions,
  tz: "Asia/Shanghai",
  campaigns: [
    { name: "bday", holdout: 0.5, goal: { kind: "redeem", code: "B", within: { amount: 7, unit: "day" }, expect: 0.2 } },
    { name: "welcome", holdout: 0, goal: { kind: "visit", within: { amount: 1, unit: "day" }, expect: 0.1 } },
  ],
});

describe("report views", () => {
  it("text: one row per campaign with rates, uplift and interval, and the no-holdout note", () => {
    const text = renderUpliftText(report, { color: false });
    const row = text.split("\n").find((l) => l.startsWith("bday"))!;
    expect(row).toMatch(/redeem B ≤ 7 days\s+10\s+5\s+50\.0%\s+10\s+1\s+10\.0%\s+\+40\.0 pp\s+-0\.2 … \+67\.6\s+\+400\.0%\s+\+4\s+¥400\.00\s+¥5\.00\s+¥1\.25/);
    expect(text).toContain("note welcome: no holdout");
    expect(text).toContain("By occurrence");
  });

  it("json: the documented snake_case contract", () => {
    const j = upliftJson(report, { conversionsFile: "c.csv", ledger: ".chuda/state.db" }) as Record<string, any>;
    expect(j.version).toBe(1);
    expect(j.method).toMatchObject({
      interval: "newcombe-hybrid-score",
      relative_interval: "katz-log",
      level: 0.95,
      attribution: "last-touch",
      groups: "intention-to-treat",
    });
    expect(j.method.control).toContain("use up no cap, quota");
    const c = j.campaigns[0];
    expect(Object.keys(c.uplift).sort()).toEqual(["absolute", "cost_per_incremental_conversion", "incremental_conversions", "incremental_revenue", "relative"]);
    expect(c.occurrences[0].send_at).toBe("2026-12-01T02:00:00.000Z");
    expect(c.occurrences[0].window_closed).toBe(false);
    expect(j.campaigns[1].uplift).toBeNull();
  });

  it("html: the interval drawn as a box per measured campaign", () => {
    const html = renderUpliftHtml(report, { mallName: "示例广场" });
    expect(html).toContain("示例广场");
    const m = /const specs = (\[.*?\]);\n/s.exec(html)!;
    const specs = JSON.parse(m[1]!) as { id: string; option: { series: { type: string; data: unknown[] }[]; yAxis: { data: string[] } } }[];
    const uplift = specs.find((x) => x.id === "uplift")!;
    expect(uplift.option.yAxis.data).toEqual(["bday"]);
    const box = uplift.option.series[0]!.data[0] as number[];
    expect(box[2]).toBe(40);
    expect(box[0]).toBeLessThan(40);
    expect(box[4]).toBeGreaterThan(40);
  });

  it("all three views say the groups are by intention to treat, and show the sent-only uplift beside it, labelled", () => {
    // Two of the ten treated members' sends failed (one of them converted): treated stays 10, sent only is 8.
    const failed = sends.map((x) => (x.member === "T0" || x.member === "T9" ? { ...x, sent: false, cost: 0 } : x));
    const r = buildUpliftReport({
      sends: failed,
      conversions,
      tz: "Asia/Shanghai",
      campaigns: [{ name: "bday", holdout: 0.5, goal: { kind: "redeem", code: "B", within: { amount: 7, unit: "day" }, expect: 0.2 } }],
      only: ["bday"],
    });
    const text = renderUpliftText(r, { color: false });
    expect(text).toMatch(/Sent only/);
    expect(text.split("\n").find((l) => l.startsWith("bday") && l.includes("pp") && /\s10\s+8\s+4\s+50\.0%/.test(l))).toBeDefined();
    expect(text).toContain("intention to treat");
    const j = upliftJson(r, { conversionsFile: "c.csv", ledger: ".chuda/state.db" }) as Record<string, any>;
    expect(j.campaigns[0].treated.members).toBe(10);
    expect(j.campaigns[0].sent_only).toMatchObject({ members: 8, converted: 4, rate: 0.5 });
    expect(j.campaigns[0].sent_only.absolute.estimate).toBeCloseTo(0.4, 9);
    const html = renderUpliftHtml(r, {});
    expect(html).toContain("sent-only uplift");
    expect(html).toContain("intention to treat");
    expect(html).toContain("use up no cap, quota");
  });
});
