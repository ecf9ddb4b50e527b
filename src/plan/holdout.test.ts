/**
 * The control group is comparable: over many random campaigns (channels, holdout share, limit by spend, budget,
 * a rival campaign that uses up the WeCom quota first) and members whose chance to convert depends only on who
 * they are (top spenders and WeCom members convert more), the planner's holdout and the report's 95 % interval
 * must hold a null effect about 95 % of the time, and a known effect just as often.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { aliyunSmsChannel, projectYaml, testProject } from "../../test/fixtures/project.js";
import { testCampaign } from "../../test/fixtures/campaign.js";
import type { Project } from "../project/types.js";
import type { ResolvedCampaign } from "../resolved/types.js";
import type { Template } from "../content/types.js";
import type { OutcomeSend } from "../outcomes/attribution.js";
import type { Conversion } from "../outcomes/conversions.js";
import { buildUpliftReport } from "../outcomes/uplift.js";
import { plan } from "./plan.js";

const YAML = projectYaml(
  { spend: "number", mobile: "phone", sms_ok: "bool", wecom_id: "string", owner: "string" },
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
  max: 2 per member per 7 days
  default_time: "10:00"
`,
);

/** mulberry32: a small seeded PRNG, so every run draws the same campaigns and conversions. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MEMBERS = 2500;
const SEEDS = 200;
const spendOrder = { value: { v: "field" as const, name: "spend", type: { kind: "number" as const } }, direction: "desc" as const };

let project: Project;
let instance: DuckDBInstance;
let conn: DuckDBConnection;
/** Each member's own chance to convert in a week, whatever the campaign does. */
const baseRate = new Map<string, number>();

beforeAll(async () => {
  project = testProject(YAML);
  instance = await DuckDBInstance.create(":memory:");
  conn = await instance.connect();
  await conn.run(`CREATE TABLE members (member_id VARCHAR, spend DOUBLE, mobile VARCHAR, sms_ok BOOLEAN, wecom_id VARCHAR, owner VARCHAR)`);
  const r = rng(7);
  const rows: string[] = [];
  for (let i = 0; i < MEMBERS; i++) {
    const id = `M${String(i).padStart(5, "0")}`;
    const spend = Math.round(r() ** 3 * 50_000);
    const wecom = r() < 0.45;
    const mobile = r() < 0.8;
    const sms = r() < 0.7;
    rows.push(
      `('${id}', ${spend}, ${mobile ? `'138${String(i).padStart(8, "0")}'` : "NULL"}, ${sms}, ${wecom ? `'wm${i}'` : "NULL"}, ${wecom ? "'staff1'" : "NULL"})`,
    );
    // Top spenders and WeCom members convert more: exactly the members a limit by spend or a WeCom channel selects.
    baseRate.set(id, 0.03 + (spend > 20_000 ? 0.3 : spend > 5_000 ? 0.12 : 0) + (wecom ? 0.1 : 0) + r() * 0.05);
  }
  await conn.run(`INSERT INTO members VALUES ${rows.join(",")}`);
});

afterAll(() => conn.closeSync());

function campaign(name: string, over: Partial<ResolvedCampaign>): ResolvedCampaign {
  return testCampaign({
    name,
    trigger: { kind: "once", date: "2026-12-01", time: 600 },
    template: "none",
    goal: { kind: "visit", within: { amount: 7, unit: "day" }, expect: 0.1 },
    ...over,
  });
}

/**
 * One random campaign, planned once; for each effect, conversions drawn from each member's own rate (+ the effect
 * when assigned a send) and the report's interval of the uplift.
 */
async function trial(seed: number, effects: number[]) {
  const r = rng(seed * 7919 + 1);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const name = `c${seed}`;
  const measured = campaign(name, {
    channels: pick([["wecom"], ["sms"], ["wecom", "sms"], ["sms", "wecom"]]),
    holdout: pick([0.1, 0.2, 0.3, 0.5]),
    ...(r() < 0.5 ? { limit: { count: 150 + Math.floor(r() * 600), ...(r() < 0.8 ? { orderBy: spendOrder } : {}) } } : {}),
    ...(r() < 0.2 ? { budget: 5 + Math.floor(r() * 20) } : {}),
  });
  // A rival at the same moment, first by priority, sends to the top spenders on WeCom and uses up their quota.
  const rival = campaign("rival", { channels: ["wecom"], priority: 90, limit: { count: 300, orderBy: spendOrder } });
  const campaigns = r() < 0.5 ? [rival, measured] : [measured];
  const p = await plan({
    project,
    campaigns,
    templates: new Map<string, Template>(),
    members: { conn, table: "members", count: MEMBERS },
    from: "2026-12-01",
    to: "2026-12-01",
    memberRows: true,
    render: false,
  });
  const at = Date.parse("2026-12-01T02:00:00Z");
  const sends: OutcomeSend[] = [];
  for (const d of p.decisions) {
    if (d.campaign !== name || (d.reason !== "held_out" && !d.channel)) continue;
    const treated = d.reason !== "held_out";
    sends.push({
      campaign: name,
      occurrence: d.occurrence,
      member: d.member,
      group: treated ? "treated" : "control",
      sendAt: d.sendAt,
      channels: [],
      cost: 0,
      sent: treated,
      delivered: null,
      opened: null,
    });
  }
  return effects.map((effect) => {
    const conversions: Conversion[] = [];
    for (const s of sends)
      if (r() < baseRate.get(s.member)! + (s.group === "treated" ? effect : 0))
        conversions.push({ member: s.member, kind: "visit", at: at + 86_400_000, line: conversions.length + 2 });
    return buildUpliftReport({ sends, conversions, campaigns: [measured], tz: project.timezone }).campaigns[0]!.uplift!.absolute;
  });
}

describe("the holdout over random campaigns", () => {
  // 200 trials at a true 95 %: at least 180 (a binomial tail well below one in a thousand) must hold the truth.
  it("holds no effect, and a known effect of 8 points, within the 95 % interval about 95 % of the time", async () => {
    const effects = [0, 0.08];
    const holds = effects.map(() => 0);
    for (let seed = 1; seed <= SEEDS; seed++) {
      const us = await trial(seed, effects);
      us.forEach((u, k) => {
        if (u.lower <= effects[k]! && effects[k]! <= u.upper) holds[k]!++;
      });
    }
    if (process.env.CHUDA_COVERAGE) console.log(`coverage of ${effects.join(", ")}: ${holds.join(", ")} of ${SEEDS}`);
    for (const [k, h] of holds.entries()) expect(h, `effect ${effects[k]}: coverage ${h}/${SEEDS}`).toBeGreaterThanOrEqual(180);
  });
});
