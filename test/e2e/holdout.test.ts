/**
 * The control group is comparable, end to end on the built CLI. 20,000 sample members; campaign A holds out 20 %
 * and sends to the top 3,000 spenders; campaign B holds out 20 % on a channel only members with a WeCom id can
 * receive. Conversions depend only on who the member is (top spenders and WeCom members convert more), never on
 * being sent: `chuda report` must find no uplift (both intervals hold 0), and `simulate --at T` must count the
 * holdout dispatch records at T.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { chuda, hasStackTrace } from "./cli.js";
import { SAMPLE_SCHEMA_YAML } from "../../src/members/sample.js";

/** mulberry32, so the conversions are the same on every run. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const AT = "2026-12-01 10:05";
let dir = "";

const YAML = `timezone: Asia/Shanghai
${SAMPLE_SCHEMA_YAML}
channels:
  sms_outbox:
    driver: file
    address: mobile
    consent: sms_opt_in
    options: { path: .chuda/sms.jsonl }
  wecom_outbox:
    driver: file
    address: wecom_external_userid
    sender: wecom_owner
    options: { path: .chuda/wecom.jsonl }
policy:
  exclude: unsubscribed
  max: 1 per member per day
  default_time: "10:00"
`;

const CAMPAIGNS = `campaign top_spenders "高消费会员回馈" {
  audience member_id is set
  trigger  once at 2026-12-01 10:00
  content  "note"
  channel  sms_outbox
  goal     visit within 7 days
  holdout  20%
  priority 60
  limit    3000 members order by spend_12m desc
}

campaign wecom_invite "企微邀约" {
  audience member_id is set
  trigger  once at 2026-12-01 10:00
  content  "note"
  channel  wecom_outbox
  goal     visit within 7 days
  holdout  20%
}
`;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "chuda-holdout-"));
  mkdirSync(path.join(dir, "campaigns"));
  mkdirSync(path.join(dir, "templates"));
  writeFileSync(path.join(dir, "chuda.yaml"), YAML);
  writeFileSync(path.join(dir, "campaigns/holdout.chuda"), CAMPAIGNS);
  writeFileSync(path.join(dir, "templates/note.yaml"), `file:\n  text: "{{name}}您好，本周会员日欢迎到店。"\n`);
  const s = await chuda(["sample-members", "--count", "20000", "--out", "members.csv", "--seed", "11", "--as-of", "2026-12-01"], { cwd: dir });
  expect(s.exitCode, s.stderr).toBe(0);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a comparable control group, end to end", () => {
  it("simulate counts the holdout dispatch records; the report finds no uplift where sending changes nothing", async () => {
    const sim = await chuda(["simulate", "--members", "members.csv", "--at", AT, "--json"], { cwd: dir });
    expect(sim.exitCode, sim.stderr).toBe(0);
    const simulated = new Map((JSON.parse(sim.stdout).campaigns as { name: string; holdout: number; sends: number }[]).map((c) => [c.name, c]));

    const d = await chuda(["dispatch", "--members", "members.csv", "--at", AT], { cwd: dir });
    expect(d.exitCode, d.stderr + d.stdout).toBe(0);
    const db = new Database(path.join(dir, ".chuda/state.db"), { readonly: true });
    const counts = db.prepare(`SELECT campaign, state, count(*) AS n FROM sends GROUP BY campaign, state`).all() as {
      campaign: string;
      state: string;
      n: number;
    }[];
    db.close();
    const count = (campaign: string, state: string) => counts.find((r) => r.campaign === campaign && r.state === state)?.n ?? 0;
    // The limit counts sends: 3,000 are sent, and the holdout is drawn from the same top of the ranking beside them.
    expect(count("top_spenders", "sent")).toBe(3000);
    expect(count("top_spenders", "held_out")).toBeGreaterThan(600);
    expect(count("top_spenders", "held_out")).toBeLessThan(900);
    for (const name of ["top_spenders", "wecom_invite"]) {
      expect(simulated.get(name)!.holdout, name).toBe(count(name, "held_out"));
      expect(simulated.get(name)!.sends, name).toBe(count(name, "sent"));
    }

    // Conversions from the member alone: the top 3,000 spenders and WeCom members convert more.
    const lines = readFileSync(path.join(dir, "members.csv"), "utf8").trim().split("\n");
    const head = lines[0]!.split(",");
    const col = (n: string) => head.indexOf(n);
    const rows = lines.slice(1).map((l) => l.split(","));
    const spendCut = rows.map((r) => Number(r[col("spend_12m")])).sort((a, b) => b - a)[2999]!;
    const r = rng(2026);
    let csv = "member_id,kind,code,amount,time\n";
    for (const m of rows) {
      const rate = 0.04 + (Number(m[col("spend_12m")]) >= spendCut ? 0.3 : 0) + (m[col("wecom_external_userid")] ? 0.2 : 0);
      if (r() < rate) csv += `${m[col("member_id")]},visit,,0,2026-12-03 15:00\n`;
    }
    writeFileSync(path.join(dir, "conversions.csv"), csv);

    const rep = await chuda(["report", "--conversions", "conversions.csv", "--json", "--html", "outcomes.html"], { cwd: dir });
    expect(rep.exitCode, rep.stderr).toBe(0);
    expect(hasStackTrace(rep.stderr)).toBe(false);
    const report = JSON.parse(rep.stdout);
    const html = readFileSync(path.join(dir, "outcomes.html"), "utf8");
    expect(html).toContain("intention to treat");
    expect(html).toContain("use up no cap, quota");
    expect(report.method.groups).toBe("intention-to-treat");
    for (const name of ["top_spenders", "wecom_invite"]) {
      const c = report.campaigns.find((x: { name: string }) => x.name === name);
      expect(c.treated.members, name).toBe(count(name, "sent"));
      expect(c.control.members, name).toBe(count(name, "held_out"));
      const u = c.uplift.absolute;
      expect(u.lower, `${name} ${JSON.stringify(u)}`).toBeLessThanOrEqual(0);
      expect(u.upper, `${name} ${JSON.stringify(u)}`).toBeGreaterThanOrEqual(0);
    }
  });
});

describe("a repeated campaign's holdout across dispatch runs", () => {
  it("repeat never: a member held out on the first day is not drawn into the control again on the second", async () => {
    const d2 = mkdtempSync(path.join(os.tmpdir(), "chuda-holdout-repeat-"));
    try {
      mkdirSync(path.join(d2, "campaigns"));
      mkdirSync(path.join(d2, "templates"));
      writeFileSync(path.join(d2, "chuda.yaml"), YAML.replace("max: 1 per member per day", "max: []"));
      writeFileSync(
        path.join(d2, "campaigns/daily.chuda"),
        `campaign daily_tip "每日提示" {\n  audience member_id is set\n  trigger  every day at 10:00\n  content  "note"\n  channel  sms_outbox\n  goal     visit within 1 day\n  holdout  50%\n  repeat   never\n  active   2026-12-01 .. 2026-12-31\n}\n`,
      );
      writeFileSync(path.join(d2, "templates/note.yaml"), `file:\n  text: "{{name}}您好"\n`);
      expect((await chuda(["sample-members", "--count", "2000", "--out", "members.csv", "--seed", "5", "--as-of", "2026-12-01"], { cwd: d2 })).exitCode).toBe(
        0,
      );
      const first = await chuda(["dispatch", "--members", "members.csv", "--at", "2026-12-01 10:05"], { cwd: d2 });
      expect(first.exitCode, first.stderr).toBe(0);
      // simulate reads the ledger's history as dispatch does: nobody is left to send to or to hold out on day two.
      const sim = await chuda(["simulate", "--members", "members.csv", "--at", "2026-12-02 10:05", "--json"], { cwd: d2 });
      expect(sim.exitCode, sim.stderr).toBe(0);
      expect(JSON.parse(sim.stdout).campaigns[0]).toMatchObject({ holdout: 0, sends: 0 });
      const second = await chuda(["dispatch", "--members", "members.csv", "--at", "2026-12-02 10:05"], { cwd: d2 });
      expect(second.exitCode, second.stderr).toBe(0);
      const db = new Database(path.join(d2, ".chuda/state.db"), { readonly: true });
      const byDay = db.prepare(`SELECT substr(occurrence, 1, 10) AS day, state, count(*) AS n FROM sends GROUP BY day, state ORDER BY day, state`).all() as {
        day: string;
        state: string;
        n: number;
      }[];
      db.close();
      const day1 = byDay.filter((r) => r.day === "2026-12-01");
      expect(day1.find((r) => r.state === "held_out")!.n).toBeGreaterThan(500);
      expect(day1.find((r) => r.state === "sent")!.n).toBeGreaterThan(500);
      expect(byDay.filter((r) => r.day === "2026-12-02")).toEqual([]);
    } finally {
      rmSync(d2, { recursive: true, force: true });
    }
  });
});
