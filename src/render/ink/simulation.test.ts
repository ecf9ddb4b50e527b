import { describe, expect, it } from "vitest";
import type { SimulationSummary } from "../../simulate/summary.js";
import { renderSimulationText } from "../simulation.js";
import { renderSimulationInk, simulationSections } from "./simulation.js";

const ESC = /\u001b\[/;

function summary(): SimulationSummary {
  return {
    members: 3000,
    rejected: 4,
    from: "2026-12-01",
    to: "2026-12-03",
    campaigns: [
      {
        name: "birthday_gift",
        occurrences: 3,
        audience: 40,
        holdout: 4,
        unreachable: 6,
        capped: 10,
        sends: 20,
        deferred: 2,
        by_channel: { sms: 5, wecom: 15 },
        capped_by: { "capped:policy.max": 10 },
        estimated: { delivered: 19.5, opened: 6, converted: 2.4, cost: 0.23 },
        problems: [{ channel: "sms", rule: "sms.length", field: "text", severity: "warning", message: "too long for 13812341234", members: 7 }],
      },
      {
        name: "会员日_idle",
        occurrences: 1,
        audience: 0,
        holdout: 0,
        unreachable: 0,
        capped: 0,
        sends: 0,
        deferred: 0,
        by_channel: {},
        capped_by: {},
        estimated: { delivered: 0, opened: 0, converted: 0, cost: 0 },
        problems: [],
      },
    ],
    total: { sends: 20, members_reached: 18, by_channel: { sms: 5, wecom: 15 }, cost: 0.23 },
    days: [
      { date: "2026-12-01", by_channel: { sms: 1, wecom: 3 }, sends: 4, cost: 0.05 },
      { date: "2026-12-02", by_channel: { sms: 4, wecom: 12 }, sends: 16, cost: 0.18 },
    ],
  };
}

const lineWith = (out: string, start: string) => out.split("\n").find((l) => l.trimStart().startsWith(start));

describe("renderSimulationInk", () => {
  const out = renderSimulationInk(summary(), { color: false });

  it("shows the funnel, per channel and per day tables, and the total", () => {
    expect(out).toContain("Simulation 2026-12-01 → 2026-12-03  members 3,000, rejected rows 4");
    for (const title of ["Funnel per campaign", "Capped, by rule", "By channel", "By day", "Content problems after rendering"]) expect(out).toContain(title);
    expect(out).toMatch(/campaign\s+occ\s+audience\s+holdout\s+unreachable\s+capped\s+sends\s+deferred\s+sms\s+wecom\s+converted\s+cost\s+reach/);
    expect(lineWith(out, "birthday_gift")).toMatch(/^birthday_gift\s+3\s+40\s+4\s+6\s+10\s+20\s+2\s+5\s+15\s+2\.4\s+¥0\.23\s+█{6}░{6}\s+50%$/);
    expect(lineWith(out, "birthday_gift  policy.max")).toMatch(/policy\.max\s+10$/);
    expect(lineWith(out, "wecom")).toMatch(/^wecom\s+15\s+█{15}░{5}\s+75%$/);
    expect(lineWith(out, "2026-12-02")).toMatch(/^2026-12-02\s+16\s+4\s+12\s+¥0\.18\s+█{20}$/);
    expect(lineWith(out, "2026-12-01")).toMatch(/^2026-12-01\s+4\s+1\s+3\s+¥0\.05\s+█{5}░{15}$/);
    expect(out).toContain("Total: 20 sends to 18 members, estimated cost ¥0.23");
  });

  it("aligns columns by terminal cells, CJK counting two", () => {
    const lines = out.split("\n");
    const head = lines.find((l) => l.startsWith("campaign"))!;
    const idle = lines.find((l) => l.startsWith("会员日_idle"))!;
    // "会员日_idle" is 11 cells wide in 8 characters; its `occ` figure ends under the header's `occ`.
    const cells = (s: string) => [...s].reduce((w, ch) => w + (/[\u4e00-\u9fff]/.test(ch) ? 2 : 1), 0);
    expect(cells(idle.slice(0, idle.indexOf("1") + 1))).toBe(cells(head.slice(0, head.indexOf("occ") + 3)));
  });

  it("masks phone numbers in content problems", () => {
    expect(out).toContain("warning birthday_gift · sms: 7 members: too long for 138****1234");
    expect(out).not.toContain("13812341234");
  });

  it("has no escape codes with colour off, and shows the same figures as the plain text", () => {
    expect(out).not.toMatch(ESC);
    const plain = renderSimulationText(summary(), { color: false });
    for (const figure of ["3,000", "¥0.23", "policy.max", "Total: 20 sends to 18 members"]) {
      expect(plain).toContain(figure);
      expect(out).toContain(figure);
    }
  });

  it("lays sections out as lines of segments", () => {
    const { sections } = simulationSections(summary());
    expect(sections.map((s) => s.title)).toEqual(["Funnel per campaign", "Capped, by rule", "By channel", "By day"]);
    const funnel = sections[0]!.lines;
    expect(funnel).toHaveLength(2 + 2); // header, rule, two campaigns
    // Figures get tones: sends green, capped yellow; zero figures are dimmed.
    const row = funnel[2]!;
    expect(row.find((s) => s.text === "20")?.tone).toBe("green");
    expect(row.find((s) => s.text === "10")?.tone).toBe("yellow");
    expect(funnel[3]!.find((s) => s.text === "0")?.tone).toBe("dim");
  });
});
