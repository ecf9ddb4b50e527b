/**
 * The report's figures on small hand-built ledgers and conversions, each worked out by hand, and the interval
 * against Newcombe (1998), Statistics in Medicine 17:873–890, Table II, method 10 (score interval, no continuity
 * correction).
 */
import { describe, expect, it } from "vitest";
import type { ResolvedGoal } from "../resolved/types.js";
import type { OutcomeSend } from "./attribution.js";
import { parseConversionTime, type Conversion } from "./conversions.js";
import { buildUpliftReport, newcombeDifference, riskRatioKatz, wilson } from "./uplift.js";

const TZ = "Asia/Shanghai";
const t = (s: string) => parseConversionTime(s, TZ) as number;
const OCC1 = "2026-12-01T10:00+08:00";

const send = (campaign: string, occurrence: string, member: string, group: OutcomeSend["group"], at: string, cost = 0.05): OutcomeSend => ({
  campaign,
  occurrence,
  member,
  group,
  sendAt: t(at),
  channels: group === "treated" ? ["sms"] : [],
  cost: group === "treated" ? cost : 0,
  sent: group === "treated",
  delivered: null,
  opened: null,
});
let line = 1;
const conv = (member: string, kind: Conversion["kind"], at: string, code?: string, amount?: number): Conversion => ({
  member,
  kind,
  at: t(at),
  line: ++line,
  ...(code !== undefined ? { code } : {}),
  ...(amount !== undefined ? { amount } : {}),
});
const goal = (g: Partial<ResolvedGoal> & Pick<ResolvedGoal, "kind">): ResolvedGoal => ({ within: { amount: 7, unit: "day" }, expect: 0.12, ...g });

describe("Newcombe's hybrid score interval (method 10)", () => {
  // Newcombe (1998), Table II: the eight worked examples, method 10, to four decimals.
  const published: [number, number, number, number, number, number][] = [
    [56, 70, 48, 80, 0.0524, 0.3339],
    [9, 10, 3, 10, 0.1705, 0.809],
    [6, 7, 2, 7, 0.0582, 0.8062],
    [5, 56, 0, 29, -0.0381, 0.1926],
    [0, 10, 0, 20, -0.1611, 0.2775],
    [0, 10, 0, 10, -0.2775, 0.2775],
    [10, 10, 0, 20, 0.6791, 1.0],
    [10, 10, 0, 10, 0.6075, 1.0],
  ];
  it.each(published)("%i/%i − %i/%i → %f to %f", (x1, n1, x2, n2, lo, hi) => {
    const d = newcombeDifference(x1, n1, x2, n2);
    expect(d.estimate).toBeCloseTo(x1 / n1 - x2 / n2, 10);
    expect(d.lower).toBeCloseTo(lo, 4);
    expect(d.upper).toBeCloseTo(hi, 4);
  });

  it("is built on Wilson intervals (Newcombe 1998's single-proportion companion: 81/263 → 0.2553 to 0.3662)", () => {
    const [lo, hi] = wilson(81, 263);
    expect(lo).toBeCloseTo(0.2553, 4);
    expect(hi).toBeCloseTo(0.3662, 4);
  });

  it("gives Katz's log interval for the ratio, and nothing when a group has no successes", () => {
    const r = riskRatioKatz(56, 70, 48, 80)!;
    expect(r.estimate).toBeCloseTo(0.8 / 0.6, 10);
    const se = Math.sqrt(1 / 56 - 1 / 70 + 1 / 48 - 1 / 80);
    expect(r.lower).toBeCloseTo((0.8 / 0.6) * Math.exp(-1.959963984540054 * se), 10);
    expect(riskRatioKatz(0, 10, 3, 10)).toBeUndefined();
  });
});

describe("the uplift report", () => {
  const bday = { name: "birthday_gift", title: "会员生日礼", holdout: 0.1, goal: goal({ kind: "redeem", code: "BDAY50" }) };

  it("counts every figure of one occurrence: twice-converting member, conversions before the send, at the window's end, of another code", () => {
    const sends = [
      send("birthday_gift", OCC1, "T1", "treated", "2026-12-01 10:00", 0.045),
      send("birthday_gift", OCC1, "T2", "treated", "2026-12-01 10:00", 0.045),
      send("birthday_gift", OCC1, "T3", "treated", "2026-12-01 10:00", 0.045),
      send("birthday_gift", OCC1, "T4", "treated", "2026-12-01 10:00", 0.045),
      send("birthday_gift", OCC1, "C1", "control", "2026-12-01 10:00"),
      send("birthday_gift", OCC1, "C2", "control", "2026-12-01 10:00"),
    ];
    const conversions = [
      conv("T1", "redeem", "2026-12-02 12:00", "BDAY50", 50),
      conv("T1", "redeem", "2026-12-03 15:30", "BDAY50", 30), // twice: one converter, two conversions
      conv("T2", "redeem", "2026-11-30 18:00", "BDAY50", 50), // before the send
      conv("T3", "redeem", "2026-12-08 10:00", "BDAY50", 50), // at the window's end (exclusive)
      conv("T3", "redeem", "2026-12-09 11:00", "BDAY50", 50), // after the window
      conv("T4", "redeem", "2026-12-02 11:00", "OTHER", 50), // another coupon
      conv("T4", "visit", "2026-12-02 11:00"), // another kind
      conv("C1", "redeem", "2026-12-05 20:00", "BDAY50", 20),
      conv("X9", "redeem", "2026-12-05 20:00", "BDAY50", 20), // nobody we sent to
    ];
    const r = buildUpliftReport({ sends, conversions, campaigns: [bday], tz: TZ, rejected: 2 });
    expect(r.conversions).toEqual({ rows: 11, accepted: 9, rejected: 2, attributed: 3, unattributed: 6, latest: t("2026-12-09 11:00") });
    expect(r.campaigns).toHaveLength(1);
    const c = r.campaigns[0]!;
    expect(c.goal).toEqual({ kind: "redeem", code: "BDAY50", within: "7 days", expect: 0.12 });
    expect(c.occurrences).toHaveLength(1);
    const o = c.occurrences[0]!;
    expect(o.occurrence).toBe(OCC1);
    expect(o.sendAtLocal).toBe("2026-12-01 10:00");
    expect(o.windowEnd).toBe(t("2026-12-08 10:00"));
    expect(o.windowClosed).toBe(true);
    expect(o.treated).toEqual({ members: 4, converted: 1, conversions: 2, revenue: 80, rate: 0.25, delivered: null, opened: null });
    expect(o.control).toEqual({ members: 2, converted: 1, conversions: 1, revenue: 20, rate: 0.5, delivered: null, opened: null });
    expect(o.cost).toBeCloseTo(0.18, 9);
    expect(o.attainment).toBeCloseTo(0.25 / 0.12, 9);
    const u = o.uplift!;
    expect(u.absolute).toEqual(newcombeDifference(1, 4, 1, 2));
    expect(u.absolute.estimate).toBe(-0.25);
    expect(u.relative!.estimate).toBeCloseTo(-0.5, 12);
    expect(u.relative!.lower).toBeCloseTo(riskRatioKatz(1, 4, 1, 2)!.lower - 1, 12);
    expect(u.incrementalConversions.estimate).toBe(-1);
    expect(u.incrementalConversions.lower).toBeCloseTo(u.absolute.lower * 4, 12);
    expect(u.incrementalRevenue).toBe(40); // (80/4 − 20/2) × 4
    expect(u.costPerIncrementalConversion).toBeNull(); // no incremental conversion to pay for
    // The campaign total is the one occurrence.
    expect(c.treated).toEqual(o.treated);
    expect(c.uplift).toEqual(o.uplift);
  });

  it("computes cost per incremental conversion when the campaign works", () => {
    const sends: OutcomeSend[] = [];
    const conversions: Conversion[] = [];
    for (let i = 0; i < 10; i++) {
      sends.push(send("birthday_gift", OCC1, `T${i}`, "treated", "2026-12-01 10:00", 0.5));
      sends.push(send("birthday_gift", OCC1, `C${i}`, "control", "2026-12-01 10:00"));
      if (i < 5) conversions.push(conv(`T${i}`, "redeem", "2026-12-03 10:00", "BDAY50", 100));
      if (i < 1) conversions.push(conv(`C${i}`, "redeem", "2026-12-03 10:00", "BDAY50", 100));
    }
    const c = buildUpliftReport({ sends, conversions, campaigns: [bday], tz: TZ }).campaigns[0]!;
    expect(c.treated.rate).toBe(0.5);
    expect(c.control.rate).toBe(0.1);
    expect(c.uplift!.absolute.estimate).toBeCloseTo(0.4, 12);
    expect(c.uplift!.incrementalConversions.estimate).toBeCloseTo(4, 9);
    expect(c.cost).toBe(5);
    expect(c.uplift!.costPerIncrementalConversion).toBeCloseTo(1.25, 4);
    expect(c.uplift!.relative!.estimate).toBeCloseTo(4, 9); // 0.5 / 0.1 − 1
    expect(c.uplift!.incrementalRevenue).toBe(400); // (500/10 − 100/10) × 10
  });

  it("says plainly that a campaign without holdout has no uplift", () => {
    const welcome = { name: "new_member_welcome", holdout: 0, goal: goal({ kind: "redeem", code: "NEW20", within: { amount: 14, unit: "day" } }) };
    const sends = [send("new_member_welcome", OCC1, "A", "treated", "2026-12-01 10:00"), send("new_member_welcome", OCC1, "B", "treated", "2026-12-01 10:00")];
    const conversions = [conv("A", "redeem", "2026-12-10 10:00", "NEW20", 20)];
    const c = buildUpliftReport({ sends, conversions, campaigns: [welcome], tz: TZ }).campaigns[0]!;
    expect(c.treated).toMatchObject({ members: 2, converted: 1, rate: 0.5 });
    expect(c.control.members).toBe(0);
    expect(c.uplift).toBeNull();
    expect(c.note).toMatch(/^no holdout/);
    expect(c.occurrences[0]!.uplift).toBeNull();
    expect(c.occurrences[0]!.note).toMatch(/no control group and no uplift/);
  });

  it("attributes across overlapping windows to the latest send, once, and per occurrence", () => {
    const weekly = { name: "community_wednesday", holdout: 0.5, goal: goal({ kind: "visit" }) };
    const O2 = "2026-12-04T10:00+08:00";
    const sends = [
      send("community_wednesday", OCC1, "W", "treated", "2026-12-01 10:00"),
      send("community_wednesday", O2, "W", "treated", "2026-12-04 10:00"),
      send("community_wednesday", OCC1, "V", "control", "2026-12-01 10:00"),
      send("community_wednesday", O2, "V", "control", "2026-12-04 10:00"),
    ];
    const conversions = [
      conv("W", "visit", "2026-12-02 15:00"), // only occ 1's window → occ 1
      conv("W", "visit", "2026-12-05 15:00"), // both windows → the later send, occ 2
      conv("W", "visit", "2026-12-10 15:00"), // occ 2's window only (ends 12-11 10:00)
      conv("W", "visit", "2026-12-11 10:00"), // no window
      conv("V", "visit", "2026-12-03 09:00"), // control, occ 1
    ];
    const r = buildUpliftReport({ sends, conversions, campaigns: [weekly], tz: TZ });
    const [o1, o2] = r.campaigns[0]!.occurrences;
    expect(o1!.occurrence).toBe(OCC1);
    expect(o1!.treated).toMatchObject({ members: 1, converted: 1, conversions: 1 });
    expect(o1!.control).toMatchObject({ members: 1, converted: 1, conversions: 1 });
    expect(o2!.occurrence).toBe(O2);
    expect(o2!.treated).toMatchObject({ members: 1, converted: 1, conversions: 2 });
    expect(o2!.control).toMatchObject({ members: 1, converted: 0, conversions: 0 });
    expect(r.conversions).toMatchObject({ attributed: 4, unattributed: 1 });
    // The campaign total counts members per occurrence and each conversion once.
    expect(r.campaigns[0]!.treated).toMatchObject({ members: 2, converted: 2, conversions: 3 });
    expect(o2!.windowClosed).toBe(true); // the file reaches 12-11 10:00, the end of occ 2's window
  });

  it("lets a held-out record of one campaign compete with a send of another, so a conversion counts once", () => {
    const a = { name: "a", holdout: 0.1, goal: goal({ kind: "purchase", minAmount: 100 }) };
    const b = { name: "b", holdout: 0.1, goal: goal({ kind: "purchase", within: { amount: 3, unit: "day" } }) };
    const sends = [send("a", OCC1, "M", "treated", "2026-12-01 10:00"), send("b", "2026-12-02T10:00+08:00", "M", "control", "2026-12-02 10:00")];
    const conversions = [
      conv("M", "purchase", "2026-12-03 10:00", undefined, 150), // both match: b's control record is later
      conv("M", "purchase", "2026-12-03 11:00", undefined, 50), // below a's minimum: only b
      conv("M", "purchase", "2026-12-06 11:00", undefined, 120), // b's window ended 12-05 10:00: a
    ];
    const r = buildUpliftReport({ sends, conversions, campaigns: [a, b], tz: TZ });
    const ra = r.campaigns.find((c) => c.name === "a")!;
    const rb = r.campaigns.find((c) => c.name === "b")!;
    expect(ra.treated).toMatchObject({ converted: 1, conversions: 1, revenue: 120 });
    expect(rb.control).toMatchObject({ converted: 1, conversions: 2, revenue: 200 });
    expect(r.conversions.attributed).toBe(3);
  });

  it("counts every member assigned a send as treated (intention to treat); the sent-only figure stands beside it", () => {
    const c = { name: "bday", holdout: 0.5, goal: goal({ kind: "visit" }) };
    const failed = (m: string): OutcomeSend => ({ ...send("bday", OCC1, m, "treated", "2026-12-01 10:00"), sent: false, cost: 0 });
    const sends = [
      send("bday", OCC1, "S1", "treated", "2026-12-01 10:00"),
      failed("F1"),
      failed("F2"),
      failed("F3"),
      send("bday", OCC1, "C1", "control", "2026-12-01 10:00"),
      send("bday", OCC1, "C2", "control", "2026-12-01 10:00"),
    ];
    const conversions = [conv("S1", "visit", "2026-12-02 10:00"), conv("F1", "visit", "2026-12-02 10:00"), conv("C1", "visit", "2026-12-02 10:00")];
    const r = buildUpliftReport({ sends, conversions, campaigns: [c], tz: TZ }).campaigns[0]!;
    expect(r.treated).toMatchObject({ members: 4, converted: 2, rate: 0.5 });
    expect(r.control).toMatchObject({ members: 2, converted: 1, rate: 0.5 });
    expect(r.uplift!.absolute.estimate).toBeCloseTo(0, 12);
    expect(r.cost).toBeCloseTo(0.05, 9); // only the send that went out costs anything
    expect(r.sentOnly).toMatchObject({ members: 1, converted: 1, rate: 1 });
    expect(r.sentOnly.absolute!.estimate).toBeCloseTo(0.5, 12);
  });

  it("reports an occurrence of 300,000 members (no argument list as long as the occurrence)", () => {
    const c = { name: "big", holdout: 0.2, goal: goal({ kind: "visit" }) };
    const [treated, control] = [send("big", OCC1, "", "treated", "2026-12-01 10:00"), send("big", OCC1, "", "control", "2026-12-01 10:00")];
    const sends = Array.from({ length: 300_000 }, (_, i) => ({ ...(i % 5 === 0 ? control : treated), member: `M${i}` }));
    const r = buildUpliftReport({ sends, conversions: [], campaigns: [c], tz: TZ }).campaigns[0]!;
    expect(r.treated.members).toBe(240_000);
    expect(r.control.members).toBe(60_000);
  });

  it("reports only occurrences sent within --from/--to, but attributes with every send", () => {
    const weekly = { name: "w", holdout: 0.5, goal: goal({ kind: "visit" }) };
    const sends = [send("w", OCC1, "W", "treated", "2026-12-01 10:00"), send("w", "2026-12-04T10:00+08:00", "W", "treated", "2026-12-04 10:00")];
    const conversions = [conv("W", "visit", "2026-12-05 15:00")];
    const r = buildUpliftReport({ sends, conversions, campaigns: [weekly], tz: TZ, from: "2026-12-01", to: "2026-12-02" });
    expect(r.campaigns[0]!.occurrences.map((o) => o.occurrence)).toEqual([OCC1]);
    expect(r.campaigns[0]!.treated).toMatchObject({ members: 1, converted: 0 }); // the visit belongs to the later send
    expect(r.campaigns[0]!.occurrences[0]!.windowClosed).toBe(false); // window ends 12-08; the file stops 12-05
  });

  it("recovers a known uplift within its interval on generated outcomes", () => {
    // Deterministic LCG; treated converts at 15 %, control at 10 %: the true uplift is 0.05.
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const sends: OutcomeSend[] = [];
    const conversions: Conversion[] = [];
    for (let i = 0; i < 20000; i++) {
      const control = i % 10 === 0;
      const m = `M${i}`;
      sends.push(send("birthday_gift", OCC1, m, control ? "control" : "treated", "2026-12-01 10:00"));
      if (rnd() < (control ? 0.1 : 0.15)) conversions.push(conv(m, "redeem", "2026-12-04 12:00", "BDAY50", 80));
    }
    const u = buildUpliftReport({ sends, conversions, campaigns: [bday], tz: TZ }).campaigns[0]!.uplift!;
    expect(u.absolute.lower).toBeLessThan(0.05);
    expect(u.absolute.upper).toBeGreaterThan(0.05);
    expect(u.absolute.lower).toBeGreaterThan(0); // and it is distinguishable from nothing
  });
});
