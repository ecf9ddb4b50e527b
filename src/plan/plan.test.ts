/**
 * The planner, member by member, on small hand-built snapshots in real DuckDB. Each scenario is worked out
 * by hand from the semantics of docs/language.md: holdout, fallback order and consent, caps with priorities over a week,
 * repeat, limit, budget, quotas, deferral across quiet hours.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { aliyunSmsChannel, projectYaml, testProject } from "../../test/fixtures/project.js";
import { testCampaign } from "../../test/fixtures/campaign.js";
import type { Project } from "../project/types.js";
import type { IR, ResolvedCampaign } from "../resolved/types.js";
import type { Template } from "../content/types.js";
import { plan } from "./plan.js";
import { parseTemplate } from "../content/index.js";
import type { MemberDecision, Plan } from "./types.js";
import fc from "fast-check";

const YAML = projectYaml(
  {
    name: "string",
    mobile: "phone",
    tier: "{ enum: [normal, silver, gold] }",
    spend: "number",
    wecom_id: "string",
    owner: "string",
    sms_ok: "bool",
    unsubscribed: "bool",
  },
  `
channels:
  wecom:
    driver: wecom
    address: wecom_id
    sender: owner
    quota: 1 per member per day
    env: { corp_id: A, secret: B }
${aliyunSmsChannel(["consent: sms_ok", "price: 0.05 CNY per segment"])}
policy:
  exclude: unsubscribed
  max: 2 per member per 7 days
  quiet_hours: "21:00-09:00"
  default_time: "10:00"
`,
);

let project: Project;
let instance: DuckDBInstance;
let conn: DuckDBConnection;
const templates = new Map<string, Template>();

type Row = { id: string; tier?: string; spend?: number; wecom?: string; mobile?: string; sms?: boolean; unsub?: boolean };

async function table(name: string, rows: Row[]) {
  await conn.run(
    `CREATE OR REPLACE TABLE ${name} (member_id VARCHAR, name VARCHAR, mobile VARCHAR, tier VARCHAR, spend DOUBLE, wecom_id VARCHAR, owner VARCHAR, sms_ok BOOLEAN, unsubscribed BOOLEAN)`,
  );
  for (const r of rows)
    await conn.run(`INSERT INTO ${name} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      r.id,
      "会员" + r.id,
      r.mobile ?? null,
      r.tier ?? null,
      r.spend ?? null,
      r.wecom ?? null,
      r.wecom ? "staff1" : null,
      r.sms ?? null,
      r.unsub ?? false,
    ] as never);
  return { conn, table: name, count: rows.length };
}

const excludeUnsub: IR = { op: "truthy", value: { v: "field", name: "unsubscribed", type: { kind: "bool" } } };

function campaign(name: string, over: Partial<ResolvedCampaign> = {}): ResolvedCampaign {
  return testCampaign({ name, template: "none", channels: ["wecom", "sms"], ...over });
}

async function run(members: { conn: DuckDBConnection; table: string; count: number }, campaigns: ResolvedCampaign[], from: string, to: string): Promise<Plan> {
  const p = await plan({ project, campaigns, exclude: excludeUnsub, templates, members, from, to, memberRows: true, render: false });
  for (const o of p.occurrences) {
    const f = o.funnel;
    expect(f.audience).toBe(f.holdout + f.unreachable + f.capped + f.sends);
  }
  return p;
}

const by = (p: Plan, member: string) => p.decisions.filter((d) => d.member === member);
const brief = (d: MemberDecision) => `${d.campaign}@${d.occurrence.slice(0, 10)}:${d.channel ?? d.reason}`;

beforeAll(async () => {
  project = testProject(YAML);
  instance = await DuckDBInstance.create(":memory:");
  conn = await instance.connect();
});

afterAll(() => {
  conn.closeSync();
});

describe("the planner", () => {
  it("chooses the first channel with an address and consent; no channel is unreachable; excluded members are not in the audience", async () => {
    const m = await table("m1", [
      { id: "A", wecom: "wA", mobile: "13800000001", sms: true },
      { id: "B", mobile: "13800000002", sms: true },
      { id: "C", mobile: "13800000003", sms: false },
      { id: "D" },
      { id: "E", wecom: "wE", unsub: true },
      { id: "F", wecom: "", mobile: "13800000006", sms: null as unknown as boolean },
    ]);
    const p = await run(m, [campaign("welcome")], "2026-12-01", "2026-12-01");
    expect(p.occurrences).toHaveLength(1);
    expect(p.occurrences[0]!.funnel).toMatchObject({ audience: 5, holdout: 0, unreachable: 3, capped: 0, sends: 2, byChannel: { wecom: 1, sms: 1 } });
    expect(by(p, "A")[0]).toMatchObject({ channel: "wecom", address: "wA", sender: "staff1", fallbacks: ["sms"] });
    expect(by(p, "B")[0]).toMatchObject({ channel: "sms", address: "13800000002" });
    expect(by(p, "C")[0]!.reason).toBe("unreachable");
    expect(by(p, "D")[0]!.reason).toBe("unreachable");
    expect(by(p, "E")).toEqual([]);
    expect(by(p, "F")[0]!.reason).toBe("unreachable"); // empty address, missing consent
  });

  it("holds out a stable share by member and campaign", async () => {
    const rows: Row[] = Array.from({ length: 2000 }, (_, i) => ({ id: `M${i}`, wecom: `w${i}` }));
    const m = await table("m2", rows);
    const p1 = await run(m, [campaign("bday", { holdout: 0.1 })], "2026-12-01", "2026-12-01");
    const p2 = await run(m, [campaign("bday", { holdout: 0.1 })], "2026-12-01", "2026-12-01");
    const p3 = await run(m, [campaign("other", { holdout: 0.1 })], "2026-12-01", "2026-12-01");
    const held = (p: Plan) => new Set(p.decisions.filter((d) => d.reason === "held_out").map((d) => d.member));
    const h1 = held(p1);
    expect(h1.size).toBeGreaterThan(150);
    expect(h1.size).toBeLessThan(250);
    expect([...held(p2)]).toEqual([...h1]);
    const h3 = held(p3);
    const overlap = [...h3].filter((x) => h1.has(x)).length;
    expect(overlap).toBeLessThan(h1.size / 2); // a different campaign draws a different control group
    expect(p1.occurrences[0]!.funnel.holdout).toBe(h1.size);
    // Plain simulation (no member rows: counts in DuckDB, rendering after the walk) gives the same funnel.
    const plain = await plan({
      project,
      campaigns: [campaign("bday", { holdout: 0.1 })],
      exclude: excludeUnsub,
      templates,
      members: m,
      from: "2026-12-01",
      to: "2026-12-01",
    });
    expect(plain.decisions).toEqual([]);
    expect(plain.occurrences[0]!.funnel).toEqual(p1.occurrences[0]!.funnel);
    expect(plain.membersReached).toBe(p1.membersReached);
  });

  it("draws the holdout from the members who would be sent: never the unreachable, with limit from the same top of the ranking", async () => {
    // 60 members ranked by spend; every third has no channel at all.
    const rows: Row[] = Array.from({ length: 60 }, (_, i) => ({
      id: `H${i}`,
      spend: 1000 - i,
      ...(i % 3 === 2 ? {} : { mobile: `138000${String(i).padStart(5, "0")}`, sms: true }),
    }));
    const m = await table("m_h", rows);
    const spend = new Map(rows.map((r) => [r.id, r.spend!]));
    const open = campaign("draw", { channels: ["sms"], holdout: 0.4, trigger: { kind: "once", date: "2026-12-01", time: 600 } });
    const all = await run(m, [open], "2026-12-01", "2026-12-01");
    const drawn = new Set(all.decisions.filter((d) => d.reason === "held_out").map((d) => d.member));
    expect(drawn.size).toBeGreaterThan(5);
    for (const d of all.decisions) if (d.reason === "unreachable") expect(drawn.has(d.member)).toBe(false);
    expect(all.occurrences[0]!.funnel).toMatchObject({ audience: 60, unreachable: 20, holdout: drawn.size, sends: 40 - drawn.size });

    // limit 10: ten sends; held-out members are the same draw among the members ranked above the last send.
    const top = {
      ...open,
      limit: { count: 10, orderBy: { value: { v: "field" as const, name: "spend", type: { kind: "number" as const } }, direction: "desc" as const } },
    };
    const p = await run(m, [top], "2026-12-01", "2026-12-01");
    const sent = p.decisions.filter((d) => d.channel).map((d) => d.member);
    const held = p.decisions.filter((d) => d.reason === "held_out").map((d) => d.member);
    expect(sent).toHaveLength(10);
    const cut = Math.min(...sent.map((x) => spend.get(x)!));
    const reachableAbove = rows.filter((r) => r.mobile && r.spend! >= cut).map((r) => r.id);
    expect(new Set([...sent, ...held])).toEqual(new Set(reachableAbove));
    expect(new Set(held)).toEqual(new Set(reachableAbove.filter((x) => drawn.has(x))));
    for (const d of p.decisions) if (d.reason === "capped:limit") expect(spend.get(d.member)!).toBeLessThan(cut);
  });

  it("with a budget, held-out members are priced like the rest but spend none of it", async () => {
    const m = await table(
      "m_b",
      Array.from({ length: 40 }, (_, i) => ({ id: `B${String(i).padStart(2, "0")}`, mobile: `138000000${String(i).padStart(2, "0")}`, sms: true })),
    );
    // 0.05 CNY a message: 0.32 CNY buys six sends; held-out members are drawn among the members before the cut.
    const p = await run(
      m,
      [campaign("budgeted", { channels: ["sms"], holdout: 0.5, budget: 0.32, trigger: { kind: "once", date: "2026-12-01", time: 600 } })],
      "2026-12-01",
      "2026-12-01",
    );
    const order = p.decisions.map((d) => d.channel ?? d.reason);
    expect(order.filter((x) => x === "sms")).toHaveLength(6);
    expect(p.occurrences[0]!.funnel.cost).toBeCloseTo(0.3, 9);
    const firstCut = order.indexOf("capped:budget");
    expect(order.slice(0, firstCut).every((x) => x === "sms" || x === "held_out")).toBe(true);
    expect(order.slice(firstCut).every((x) => x === "capped:budget")).toBe(true);
    expect(order.slice(0, firstCut).filter((x) => x === "held_out").length).toBeGreaterThan(1);
  });

  it("held-out members use up no cap or quota: a later campaign reaches them", async () => {
    const rows: Row[] = Array.from({ length: 200 }, (_, i) => ({ id: `Q${i}`, wecom: `w${i}` }));
    const m = await table("m_q", rows);
    // WeCom's quota is one a member a day: whoever the first campaign sends to, the second cannot reach.
    const first = campaign("first", { channels: ["wecom"], holdout: 0.5, priority: 60, trigger: { kind: "once", date: "2026-12-01", time: 600 } });
    const second = campaign("second", { channels: ["wecom"], trigger: { kind: "once", date: "2026-12-01", time: 600 } });
    const p = await run(m, [first, second], "2026-12-01", "2026-12-01");
    const held = new Set(p.decisions.filter((d) => d.campaign === "first" && d.reason === "held_out").map((d) => d.member));
    expect(held.size).toBeGreaterThan(50);
    for (const d of p.decisions.filter((x) => x.campaign === "second"))
      expect(d.channel ? "sent" : d.reason).toBe(held.has(d.member) ? "sent" : "capped:quota");
  });

  it("repeat counts a holdout decision like a send, so a repeated campaign does not draw the same control members again", async () => {
    const m = await table(
      "m_r",
      Array.from({ length: 100 }, (_, i) => ({ id: `R${i}`, wecom: `w${i}` })),
    );
    const daily = campaign("daily", { channels: ["wecom"], holdout: 0.5, repeat: { kind: "never" } });
    const p = await run(m, [daily], "2026-12-01", "2026-12-02");
    const [d1, d2] = p.occurrences.map((o) => o.funnel);
    expect(d1!.holdout + d1!.sends).toBe(100);
    expect(d2).toMatchObject({ holdout: 0, sends: 0, capped: 100 });
    // The same from the ledger's history: a held-out row (channel `-`) on the first day.
    const history = p.decisions
      .filter((d) => d.occurrence.startsWith("2026-12-01"))
      .map((d) => ({ member: d.member, campaign: "daily", channel: d.channel ?? "-", at: d.sendAt }));
    const next = await plan({
      project,
      campaigns: [daily],
      exclude: excludeUnsub,
      templates,
      members: m,
      from: "2026-12-02",
      to: "2026-12-02",
      history,
      memberRows: true,
      render: false,
    });
    expect(next.occurrences[0]!.funnel).toMatchObject({ holdout: 0, sends: 0, capped: 100 });
  });

  it("applies policy.max in time order; at the same moment higher priority first, then campaign name", async () => {
    const m = await table("m3", [{ id: "A", wecom: "wA", mobile: "13800000001", sms: true }]);
    const cs = [
      campaign("b_second", { trigger: { kind: "once", date: "2026-12-01", time: 600 }, priority: 50 }),
      campaign("a_first", { trigger: { kind: "once", date: "2026-12-01", time: 600 }, priority: 50 }),
      campaign("z_top", { trigger: { kind: "once", date: "2026-12-01", time: 600 }, priority: 90 }),
      // 7 days later at 09:59 the first two sends still count (until t + 7 days, exclusive)...
      campaign("c_early", { trigger: { kind: "once", date: "2026-12-08", time: 599 } }),
      // ...and at 10:00 they have expired.
      campaign("d_ontime", { trigger: { kind: "once", date: "2026-12-08", time: 600 } }),
    ];
    const p = await run(m, cs, "2026-12-01", "2026-12-08");
    expect(by(p, "A").map(brief)).toEqual([
      "z_top@2026-12-01:wecom",
      "a_first@2026-12-01:sms", // wecom's quota (1 per member per day) is used: next channel
      "b_second@2026-12-01:capped:policy.max",
      "c_early@2026-12-08:capped:policy.max",
      "d_ontime@2026-12-08:wecom",
    ]);
  });

  it("a channel whose quota is used up is skipped; with no channel left the member is capped by quota", async () => {
    const m = await table("m4", [{ id: "W", wecom: "wW" }]);
    const cs = [campaign("one", { channels: ["wecom"], priority: 60 }), campaign("two", { channels: ["wecom"] })];
    const p = await run(m, cs, "2026-12-01", "2026-12-01");
    expect(by(p, "W").map(brief)).toEqual(["one@2026-12-01:wecom", "two@2026-12-01:capped:quota"]);
  });

  it("repeat after 3 days re-admits a member on the third day; repeat never only once", async () => {
    const m = await table("m5", [{ id: "A", mobile: "13800000001", sms: true }]);
    // No global cap interference: a project copy without policy.max.
    const saved = project.policy.max;
    project.policy.max = [];
    try {
      const p = await run(
        m,
        [campaign("r3", { channels: ["sms"], repeat: { kind: "after", duration: { amount: 3, unit: "day" } } })],
        "2026-12-01",
        "2026-12-07",
      );
      expect(by(p, "A").map((d) => d.channel ?? d.reason)).toEqual(["sms", "capped:repeat", "capped:repeat", "sms", "capped:repeat", "capped:repeat", "sms"]);
      const n = await run(m, [campaign("rn", { channels: ["sms"], repeat: { kind: "never" } })], "2026-12-01", "2026-12-03");
      expect(by(n, "A").map((d) => d.channel ?? d.reason)).toEqual(["sms", "capped:repeat", "capped:repeat"]);
    } finally {
      project.policy.max = saved;
    }
  });

  it("limit keeps the highest by `order by`, and budget stops adding sends once cost would pass it", async () => {
    const m = await table("m6", [
      { id: "A", spend: 100, mobile: "13800000001", sms: true },
      { id: "B", spend: 900, mobile: "13800000002", sms: true },
      { id: "C", spend: 500, mobile: "13800000003", sms: true },
      { id: "D", spend: 700, mobile: "13800000004", sms: true },
      { id: "E", mobile: "13800000005", sms: true },
    ]);
    const limited = campaign("top3", {
      channels: ["sms"],
      trigger: { kind: "once", date: "2026-12-01", time: 600 },
      limit: { count: 3, orderBy: { value: { v: "field", name: "spend", type: { kind: "number" } }, direction: "desc" } },
    });
    const p = await run(m, [limited], "2026-12-01", "2026-12-01");
    expect(p.decisions.map((d) => `${d.member}:${d.channel ?? d.reason}`)).toEqual(["B:sms", "D:sms", "C:sms", "A:capped:limit", "E:capped:limit"]);

    // Budget: 0.05 CNY per message (one segment, no template rendered); 0.12 CNY allows two.
    const budget = campaign("cheap", { channels: ["sms"], trigger: { kind: "once", date: "2026-12-02", time: 600 }, budget: 0.12 });
    const b = await run(m, [budget], "2026-12-02", "2026-12-02");
    expect(b.decisions.map((d) => `${d.member}:${d.channel ?? d.reason}`)).toEqual(["A:sms", "B:sms", "C:capped:budget", "D:capped:budget", "E:capped:budget"]);
    expect(b.occurrences[0]!.funnel.cost).toBeCloseTo(0.1, 6);
  });

  it("quiet hours and send windows defer a send, never drop it", async () => {
    const m = await table("m7", [{ id: "A", wecom: "wA" }]);
    const late = campaign("late", { channels: ["wecom"], trigger: { kind: "once", date: "2026-12-01", time: 22 * 60 } });
    const windowed = campaign("windowed", {
      channels: ["wecom"],
      trigger: { kind: "once", date: "2026-12-03", time: 10 * 60 },
      sendWindow: { start: 14 * 60, end: 18 * 60 },
    });
    const p = await run(m, [late, windowed], "2026-12-01", "2026-12-03");
    const [a, b] = p.occurrences;
    expect(a!.deferred).toBe(true);
    expect(new Date(a!.sendAt).toISOString()).toBe("2026-12-02T01:00:00.000Z"); // 09:00 in Shanghai
    expect(a!.funnel).toMatchObject({ sends: 1, deferred: 1 });
    expect(new Date(b!.sendAt).toISOString()).toBe("2026-12-03T06:00:00.000Z"); // 14:00
    expect(b!.funnel.sends).toBe(1);
  });

  it("earlier sends from the ledger count against caps", async () => {
    const m = await table("m8", [{ id: "A", wecom: "wA", mobile: "13800000001", sms: true }]);
    const at = Date.parse("2026-12-01T02:00:00Z"); // 10:00 Shanghai
    const p = await plan({
      project,
      campaigns: [campaign("x", { trigger: { kind: "once", date: "2026-12-01", time: 600 } })],
      exclude: excludeUnsub,
      templates,
      members: m,
      from: "2026-12-01",
      to: "2026-12-01",
      memberRows: true,
      render: false,
      history: [
        { member: "A", campaign: "old", channel: "sms", at: at - 86_400_000 },
        { member: "A", campaign: "old2", channel: "wecom", at: at - 3_600_000 },
      ],
    });
    expect(by(p, "A").map(brief)).toEqual(["x@2026-12-01:capped:policy.max"]);
  });

  it("an occurrence planned again leaves members planned before as they are; their places count against limit", async () => {
    const m = await table("m9", [
      { id: "A", spend: 100, mobile: "13800000001", sms: true },
      { id: "B", spend: 900, mobile: "13800000002", sms: true },
      { id: "C", spend: 500, mobile: "13800000003", sms: true },
      { id: "D", spend: 700, mobile: "13800000004", sms: true },
      { id: "E", spend: 800, mobile: "13800000005", sms: true, unsub: true },
    ]);
    const top3 = campaign("top3", {
      channels: ["sms"],
      trigger: { kind: "once", date: "2026-12-01", time: 600 },
      limit: { count: 3, orderBy: { value: { v: "field", name: "spend", type: { kind: "number" } }, direction: "desc" } },
    });
    const at = Date.parse("2026-12-01T02:00:00Z");
    // An earlier run planned B and E (E has unsubscribed since): two of the three places are taken.
    const committed = new Map([["top3|2026-12-01T10:00+08:00", new Set(["B", "E"])]]);
    const history = ["B", "E"].map((member) => ({ member, campaign: "top3", channel: "sms", at }));
    for (const memberRows of [true, false]) {
      const p = await plan({
        project,
        campaigns: [top3],
        exclude: excludeUnsub,
        templates,
        members: m,
        from: "2026-12-01",
        to: "2026-12-01",
        memberRows,
        render: false,
        history,
        committed,
      });
      const f = p.occurrences[0]!.funnel;
      expect(f).toMatchObject({ audience: 3, sends: 1, capped: 2, plannedBefore: 1 });
      expect(f.audience).toBe(f.holdout + f.unreachable + f.capped + f.sends);
      if (memberRows) {
        expect(p.decisions.map((d) => `${d.member}:${d.channel ?? d.reason}`)).toEqual(["D:sms", "C:capped:limit", "A:capped:limit"]);
        // B is still sendable; E (excluded now) is not, so dispatch withdraws E's pending send.
        expect([...p.kept!]).toEqual(["top3|2026-12-01T10:00+08:00|B|sms"]);
      }
    }
    // A member planned before who has withdrawn SMS consent since is kept only on the channels that still reach them.
    const f = await table("m10", [{ id: "F", wecom: "wF", mobile: "13800000006", sms: false }]);
    const two = campaign("two", { trigger: { kind: "once", date: "2026-12-02", time: 600 } });
    const again = await plan({
      project,
      campaigns: [two],
      exclude: excludeUnsub,
      templates,
      members: f,
      from: "2026-12-02",
      to: "2026-12-02",
      memberRows: true,
      render: false,
      committed: new Map([["two|2026-12-02T10:00+08:00", new Set(["F"])]]),
    });
    expect([...again.kept!]).toEqual(["two|2026-12-02T10:00+08:00|F|wecom"]);
    expect(again.decisions).toEqual([]);
  });

  it("prices SMS per segment of each member's text and counts broken content, the same with or without member rows", async () => {
    const yaml = `sms:\n  sign: "示例广场"\n  code: "SMS_1"\n  body: "\${name}您好，您的会员积分即将到期，请在本月内到店使用，逾期将自动清零，感谢您对示例广场的支持。拒收请回复R"\n  params: { name: "{{name}}" }\n`;
    const { template, diagnostics } = parseTemplate(yaml, "templates/points.yaml", "points");
    expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const local = new Map([["points", template]]);
    const m = await table("m9", [
      { id: "A", mobile: "13800000001", sms: true },
      { id: "B", mobile: "13800000002", sms: true },
      { id: "C", mobile: "13800000003", sms: true },
    ]);
    await conn.run(`UPDATE m9 SET name = CASE member_id WHEN 'A' THEN '王伟' WHEN 'B' THEN '${"长".repeat(30)}' ELSE '${"名".repeat(40)}' END`);
    const c = campaign("points", { channels: ["sms"], template: "points", trigger: { kind: "once", date: "2026-12-01", time: 600 } });
    const base = { project, campaigns: [c], exclude: excludeUnsub, templates: local, members: m, from: "2026-12-01", to: "2026-12-01" };
    const rows = await plan({ ...base, memberRows: true });
    const plain = await plan(base);
    // 【示例广场】 + body: A fits one segment; B's 30-character name makes two; C's 40 makes two and breaks the 35-character parameter rule.
    const segments = (name: string) => {
      const n = [...`【示例广场】${name}您好，您的会员积分即将到期，请在本月内到店使用，逾期将自动清零，感谢您对示例广场的支持。拒收请回复R`].length;
      return n <= 70 ? 1 : Math.ceil(n / 67);
    };
    const expected = 0.05 * (segments("王伟") + segments("长".repeat(30)) + segments("名".repeat(40)));
    expect(segments("王伟")).toBe(1);
    expect(segments("长".repeat(30))).toBe(2);
    expect(rows.occurrences[0]!.funnel.cost).toBeCloseTo(expected, 9);
    expect(plain.occurrences[0]!.funnel).toEqual(rows.occurrences[0]!.funnel);
    const problems = (p: Plan) => p.occurrences[0]!.problems.map((x) => `${x.rule}:${x.members}`).sort();
    expect(problems(plain)).toEqual(problems(rows));
    expect(problems(plain).some((x) => x.startsWith("sms.param.length:1"))).toBe(true);
    expect(rows.decisions.find((d) => d.member === "C")!.contentErrors?.length).toBeGreaterThan(0);
  });

  it("anniversaries: 29 February falls on 28 February in common years, and the first is a year after the date", async () => {
    await conn.run(`CREATE OR REPLACE TABLE m10 (member_id VARCHAR, mobile VARCHAR, sms_ok BOOLEAN, unsubscribed BOOLEAN, birthday DATE)`);
    await conn.run(
      `INSERT INTO m10 VALUES ('LEAP', '13800000001', true, false, DATE '2000-02-29'), ('MAR1', '13800000002', true, false, DATE '1990-03-01'), ('NEW', '13800000003', true, false, DATE '2027-02-28')`,
    );
    const yaml = YAML.replace("    unsubscribed: bool", "    unsubscribed: bool\n    birthday: date");
    const p2 = testProject(yaml);
    const c = campaign("bday", { channels: ["sms"], trigger: { kind: "member_date", field: "birthday", fieldType: "date", anniversary: true, time: 600 } });
    const run2 = (from: string, to: string) =>
      plan({
        project: { ...p2, policy: { ...p2.policy, max: [] } },
        campaigns: [c],
        exclude: excludeUnsub,
        templates,
        members: { conn, table: "m10", count: 3 },
        from,
        to,
        memberRows: true,
        render: false,
      });
    const common = await run2("2027-02-27", "2027-03-01");
    expect(common.decisions.map((d) => `${d.member}@${d.occurrence.slice(0, 10)}`)).toEqual(["LEAP@2027-02-28", "MAR1@2027-03-01"]);
    const leap = await run2("2028-02-27", "2028-03-01");
    expect(leap.decisions.map((d) => `${d.member}@${d.occurrence.slice(0, 10)}`)).toEqual(["NEW@2028-02-28", "LEAP@2028-02-29", "MAR1@2028-03-01"]);
    // With an offset: three days before each anniversary.
    const dec = await plan({
      project: { ...p2, policy: { ...p2.policy, max: [] } },
      campaigns: [
        campaign("early", {
          channels: ["sms"],
          trigger: {
            kind: "member_date",
            field: "birthday",
            fieldType: "date",
            anniversary: true,
            offset: { amount: 3, unit: "day", direction: "before" },
            time: 600,
          },
        }),
      ],
      exclude: excludeUnsub,
      templates,
      members: { conn, table: "m10", count: 3 },
      from: "2027-02-24",
      to: "2027-02-27",
      memberRows: true,
      render: false,
    });
    expect(dec.decisions.map((d) => `${d.member}@${d.occurrence.slice(0, 10)}`)).toEqual(["LEAP@2027-02-25", "MAR1@2027-02-26"]);
  });
});

/**
 * Plain simulation walks a faster path (only sendable members, read up front as integers; per-member state in
 * 32-bit seconds; a campaign that reaches few members keeps its last sends in a map). Member rows take the
 * general path. Both must decide alike: every occurrence's funnel, and who was reached, on random members,
 * triggers, caps, quotas, repeat, limit, holdout and earlier sends.
 */
describe("the planner's two walks", () => {
  const sendAt = (day: number, minutes: number) => Date.parse(`2026-11-${String(day).padStart(2, "0")}T00:00:00+08:00`) + minutes * 60_000;
  const member = fc.record({
    wecom: fc.boolean(),
    mobile: fc.boolean(),
    sms: fc.constantFrom(true, false, null),
    unsub: fc.boolean(),
  });
  const trigger = fc.oneof(
    fc.constantFrom(600, 1230, 1290).map((time) => ({ kind: "every_day" as const, time })),
    fc.constantFrom([3], [1, 3, 5]).map((days) => ({ kind: "weekly" as const, days, time: 600 })),
    fc.integer({ min: 1, max: 9 }).map((d) => ({ kind: "once" as const, date: `2026-12-0${d}`, time: 660 })),
  );
  const repeat = fc.constantFrom<ResolvedCampaign["repeat"]>(
    { kind: "per_occurrence" },
    { kind: "never" },
    { kind: "after", duration: { amount: 2, unit: "day" } },
    { kind: "after", duration: { amount: 36, unit: "hour" } },
    { kind: "after", duration: { amount: 1, unit: "month" } },
  );
  const camp = fc.record({
    trigger,
    repeat,
    channels: fc.constantFrom(["wecom", "sms"], ["sms", "wecom"], ["sms"], ["wecom"]),
    priority: fc.integer({ min: 10, max: 90 }),
    holdout: fc.constantFrom(0, 0.3),
    limit: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
    consentOnly: fc.boolean(),
  });
  const scenario = fc.record({
    members: fc.integer({ min: 5, max: 70 }).chain((n) => fc.array(member, { minLength: n, maxLength: n })),
    reachable: fc.constantFrom(0.03, 0.1, 0.4, 0.8, 1),
    campaigns: fc.array(camp, { minLength: 1, maxLength: 3 }),
    max: fc.constantFrom("2 per member per 7 days", "1 per member per week", "3 per member per 2 days", ""),
    quota: fc.constantFrom("1 per member per day", "2 per member per 3 days"),
    days: fc.integer({ min: 1, max: 9 }),
    history: fc.array(
      fc.record({ m: fc.nat(69), c: fc.nat(2), day: fc.integer({ min: 25, max: 30 }), min: fc.integer({ min: 540, max: 1260 }), wecom: fc.boolean() }),
      { maxLength: 20 },
    ),
    render: fc.boolean(),
  });
  // Rendered, the sends are priced per SMS segment of each member's text and checked by the content rules: names
  // of 2 to 40 characters make one or two segments and, past 35, break the parameter rule; the WeCom text reads
  // the name too. Plain simulation derives the sends in DuckDB and renders each distinct message once.
  const yaml = [
    `wecom:\n  text: "{{name}}您好，本周三中庭有活动。"`,
    `sms:\n  sign: "示例广场"\n  code: "SMS_1"\n  body: "\${name}您好，您的会员积分即将到期，请在本月内到店使用，逾期将自动清零，感谢您的支持。拒收请回复R"\n  params: { name: "{{name}}" }`,
  ].join("\n");
  const rendered = new Map([["both", parseTemplate(yaml + "\n", "templates/both.yaml", "both").template]]);
  let n = 0;
  it("decide every occurrence alike with and without member rows, and price and check its messages alike", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (sc) => {
        const name = `w${n++}`;
        // Reachability thinned by `reachable`, so that some campaigns reach few members (the map) and some many.
        const rows: Row[] = sc.members.map((m, i) => {
          const keep = (i * 0.618) % 1 < sc.reachable;
          // Rendered scenarios give most members a number and SMS consent, so that many messages are priced.
          const mobile = keep && (m.mobile || sc.render);
          const sms = sc.render ? m.sms !== false : m.sms;
          return {
            id: `M${String(i).padStart(3, "0")}`,
            ...(keep && m.wecom ? { wecom: `w${i}` } : {}),
            ...(mobile ? { mobile: `1380000${String(i).padStart(4, "0")}` } : {}),
            ...(sms !== null ? { sms } : {}),
            unsub: m.unsub && i % 5 === 0,
          };
        });
        const members = await table(name, rows);
        await conn.run(`UPDATE ${name} SET name = repeat('名', 2 + CAST(substr(member_id, 2) AS INTEGER) % 39)`);
        // Three staff members own the WeCom contacts (one has none recorded), for the counts per sender and message.
        await conn.run(
          `UPDATE ${name} SET owner = CASE CAST(substr(member_id, 2) AS INTEGER) % 4 WHEN 3 THEN NULL ELSE 'staff' || (CAST(substr(member_id, 2) AS INTEGER) % 4) END`,
        );
        const yaml = YAML.replace("max: 2 per member per 7 days", sc.max ? `max: ${sc.max}` : "max: []").replace(
          "quota: 1 per member per day",
          `quota: ${sc.quota}`,
        );
        const scenarioProject = testProject(yaml);
        const campaigns = sc.campaigns.map((c, i) =>
          campaign(`c${i}`, {
            trigger: c.trigger as never,
            repeat: c.repeat,
            channels: [...c.channels],
            priority: c.priority,
            holdout: c.holdout,
            ...(c.limit ? { limit: { count: c.limit } } : {}),
            ...(c.consentOnly ? { audience: { op: "truthy", value: { v: "field", name: "sms_ok", type: { kind: "bool" } } } as IR } : {}),
            ...(sc.render ? { template: "both" } : {}),
          }),
        );
        const history = sc.history
          .filter((h) => h.m < rows.length && h.c < campaigns.length)
          .map((h) => ({ member: rows[h.m]!.id, campaign: `c${h.c}`, channel: h.wecom ? "wecom" : "sms", at: sendAt(h.day, h.min) }));
        const base = {
          project: scenarioProject,
          campaigns,
          exclude: excludeUnsub,
          templates: sc.render ? rendered : templates,
          members,
          from: "2026-12-01",
          to: `2026-12-0${sc.days}`,
          history,
          render: sc.render,
        };
        const senderMessagesFor = new Set(campaigns.map((c) => c.name));
        const general = await plan({ ...base, memberRows: true, senderMessagesFor });
        const fast = await plan({ ...base, senderMessagesFor });
        const funnels = (p: Plan) =>
          p.occurrences
            .map((o) => ({
              id: `${o.campaign.name}|${o.occurrence.id}`,
              ...o.funnel,
              cappedBy: Object.entries(o.funnel.cappedBy)
                .filter(([, v]) => v)
                .sort(),
              problems: o.problems.map((x) => `${x.channel}:${x.rule}:${x.field}:${x.members}`).sort(),
            }))
            .sort((a, b) => (a.id < b.id ? -1 : 1));
        expect(funnels(fast)).toEqual(funnels(general));
        // The holdout is drawn among the members the walk would send to: a held-out member is never unreachable,
        // and with a limit the held-out ones are counted beside the sends, never in place of them.
        const unreachable = new Set(general.decisions.filter((d) => d.reason === "unreachable").map((d) => `${d.campaign}|${d.occurrence}|${d.member}`));
        for (const d of general.decisions) if (d.reason === "held_out") expect(unreachable.has(`${d.campaign}|${d.occurrence}|${d.member}`)).toBe(false);
        for (const o of general.occurrences) if (o.campaign.limit && o.funnel.cappedBy["capped:limit"]) expect(o.funnel.sends).toBe(o.campaign.limit.count);
        expect(fast.membersReached).toBe(general.membersReached);
        // Sends per sender and identical message (WeCom tasks): counted in DuckDB after the walk, as the walk counts
        // them member by member, and as the member rows say.
        const tallies = (p: Plan) =>
          (p.senderMessages ?? []).map((t) => `${t.campaign}|${t.occurrence}|${t.channel}|${t.staff}|${t.message}|${t.sends}`).sort();
        const fromRows = new Map<string, number>();
        for (const d of general.decisions)
          if (d.channel === "wecom" && d.content) {
            const k = `${d.campaign}|${d.occurrence}|${d.channel}|${d.sender ?? ""}|${JSON.stringify(d.content)}`;
            fromRows.set(k, (fromRows.get(k) ?? 0) + 1);
          }
        expect(tallies(general)).toEqual([...fromRows].map(([k, n]) => `${k}|${n}`).sort());
        expect(tallies(fast)).toEqual(tallies(general));
        if (sc.render && general.decisions.some((d) => d.channel === "wecom")) expect(fromRows.size).toBeGreaterThan(0);
        await conn.run(`DROP TABLE ${name}`);
      }),
      {
        numRuns: 80,
        // And always: two campaigns the same morning, WeCom first under a daily WeCom quota, so that the second one's
        // sends go out by SMS as the walk's exceptions, most of them long enough for two segments.
        examples: [
          [
            {
              members: Array.from({ length: 40 }, () => ({ wecom: true, mobile: true, sms: true, unsub: false })),
              reachable: 1,
              campaigns: [0, 1].map((i) => ({
                trigger: { kind: "every_day" as const, time: 600 as const },
                repeat: { kind: "per_occurrence" as const },
                channels: ["wecom", "sms"] as const,
                priority: 50 - i,
                holdout: 0,
                limit: undefined,
                consentOnly: false,
              })) as never,
              max: "",
              quota: "1 per member per day",
              days: 2,
              history: [],
              render: true,
            },
          ],
        ],
      },
    );
  });
});
