/**
 * Business events in the planner: one occurrence per event for its member only, `event.<prop>` read from the event,
 * quiet hours defer (an evening event waits for the morning), `at most once per` is the campaign's repeat.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { projectYaml, testProject } from "../../test/fixtures/project.js";
import { testCampaign } from "../../test/fixtures/campaign.js";
import type { Project } from "../project/types.js";
import type { IR, ResolvedCampaign } from "../resolved/types.js";
import { plan } from "./plan.js";
import type { BusinessEvent } from "./types.js";

const YAML = projectYaml(
  { mobile: "phone" },
  `
channels:
  sms: { driver: file, address: mobile }
policy:
  quiet_hours: "21:00-09:00"
events:
  purchase: { amount: number, store: string }
`,
);

let project: Project;
let instance: DuckDBInstance;
let conn: DuckDBConnection;

const bigSpender: IR = {
  op: "cmp",
  cmp: ">=",
  left: { v: "event_prop", name: "amount", type: { kind: "number" } },
  right: { v: "lit", value: 200, type: { kind: "number" } },
};

function campaign(over: Partial<ResolvedCampaign> = {}): ResolvedCampaign {
  return testCampaign({
    name: "thanks",
    audience: bigSpender,
    trigger: { kind: "business_event", event: "purchase", time: 600 },
    template: "none",
    ...over,
  });
}

const at = (iso: string) => Date.parse(iso);
const ev = (ident: string, member: string, time: string, amount: number): BusinessEvent => ({
  ident,
  member,
  name: "purchase",
  time: at(time),
  props: { amount, store: "A1" },
});

async function run(campaigns: ResolvedCampaign[], events: BusinessEvent[], history: { member: string; campaign: string; channel: string; at: number }[] = []) {
  return plan({
    project,
    campaigns,
    templates: new Map(),
    members: { conn, table: "members", count: 3 },
    from: "2026-12-01",
    to: "2026-12-05",
    events,
    history,
    memberRows: true,
    render: false,
  });
}

beforeAll(async () => {
  project = testProject(YAML);
  instance = await DuckDBInstance.create(":memory:");
  conn = await instance.connect();
  await conn.run(`CREATE TABLE members (member_id VARCHAR, mobile VARCHAR)`);
  await conn.run(`INSERT INTO members VALUES ('A', '13800000001'), ('B', '13800000002'), ('C', NULL)`);
});

afterAll(() => conn.closeSync());

describe("business events in the planner", () => {
  it("plans each event for its own member, with event.<prop> from the event and the event's identity in the occurrence", async () => {
    const p = await run(
      [campaign()],
      [ev("e1", "A", "2026-12-03T10:00:00+08:00", 250), ev("e2", "B", "2026-12-03T10:05:00+08:00", 50), ev("e3", "C", "2026-12-03T10:06:00+08:00", 900)],
    );
    expect(p.occurrences.map((o) => [o.occurrence.id, o.funnel.audience, o.funnel.sends, o.funnel.unreachable])).toEqual([
      ["event:e1", 1, 1, 0],
      ["event:e2", 0, 0, 0],
      ["event:e3", 1, 0, 1],
    ]);
    expect(p.decisions.filter((d) => d.channel).map((d) => [d.member, d.occurrence, d.sendAt])).toEqual([["A", "event:e1", at("2026-12-03T10:00:00+08:00")]]);
  });
  it("an event in quiet hours waits for the morning; an offset moves the moment", async () => {
    const p = await run([campaign()], [ev("late", "A", "2026-12-03T22:30:00+08:00", 300)]);
    expect(p.decisions.find((d) => d.channel)?.sendAt).toBe(at("2026-12-04T09:00:00+08:00"));
    const later = await run(
      [campaign({ trigger: { kind: "business_event", event: "purchase", offset: { amount: 2, unit: "hour" }, time: 600 } })],
      [ev("x", "A", "2026-12-03T10:00:00+08:00", 300)],
    );
    expect(later.decisions.find((d) => d.channel)?.sendAt).toBe(at("2026-12-03T12:00:00+08:00"));
  });
  it("`at most once per 1 day` (repeat after 1 day): a second purchase the same day is capped, the next day's is sent", async () => {
    const once = campaign({ repeat: { kind: "after", duration: { amount: 1, unit: "day" } } });
    const p = await run(
      [once],
      [ev("a1", "A", "2026-12-03T10:00:00+08:00", 300), ev("a2", "A", "2026-12-03T15:00:00+08:00", 300), ev("a3", "A", "2026-12-04T11:00:00+08:00", 300)],
    );
    expect(p.decisions.map((d) => [d.occurrence, d.channel ?? d.reason])).toEqual([
      ["event:a1", "sms"],
      ["event:a2", "capped:repeat"],
      ["event:a3", "sms"],
    ]);
    // A send already in the ledger counts the same way.
    const again = await run(
      [once],
      [ev("a4", "A", "2026-12-03T18:00:00+08:00", 300)],
      [{ member: "A", campaign: "thanks", channel: "sms", at: at("2026-12-03T10:00:00+08:00") }],
    );
    expect(again.decisions.map((d) => d.channel ?? d.reason)).toEqual(["capped:repeat"]);
  });
  it("a property value with quotes is data, never SQL", async () => {
    const store: IR = {
      op: "cmp",
      cmp: "==",
      left: { v: "event_prop", name: "store", type: { kind: "string" } },
      right: { v: "lit", value: "x'); DROP TABLE members; --", type: { kind: "string" } },
    };
    const e = { ...ev("q", "A", "2026-12-03T10:00:00+08:00", 1), props: { amount: 1, store: "x'); DROP TABLE members; --" } };
    const p = await run([campaign({ audience: store })], [e]);
    expect(p.decisions.map((d) => d.channel)).toEqual(["sms"]);
  });
});
