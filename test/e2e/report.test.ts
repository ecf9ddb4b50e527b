/** `chuda report` through the built CLI: a ledger with sends and held-out members, a conversions export. */
import { describe, expect, it } from "vitest";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { SqliteLedger } from "../../src/dispatch/ledger.js";
import { testSend } from "../fixtures/sends.js";
import { chuda, copyExampleRepo, hasStackTrace } from "./cli.js";

async function seed(dir: string) {
  const ledger = new SqliteLedger(path.join(dir, ".chuda/state.db"));
  const occ = "2026-12-01T09:30+08:00";
  const at = Date.UTC(2026, 11, 1, 1, 30);
  const rows = [];
  let csv = "member_id,kind,code,amount,time\n";
  // 900 treated converting at 1/3 (i % 10 in 1..3), 100 held out converting at 10 %: the true uplift is 23⅓ points.
  for (let i = 0; i < 1000; i++) {
    const held = i % 10 === 0;
    const m = `M${i}`;
    rows.push(
      testSend({
        campaign: "birthday_gift",
        occurrence: occ,
        member: m,
        channel: held ? "-" : "wecom",
        state: (held ? "held_out" : "sent") as never,
        send_at: at,
      }),
    );
    if (held ? i % 100 === 0 : i % 10 <= 3) csv += `${m},redeem,BDAY50,50,2026-12-03 12:00\n`;
  }
  await ledger.insertSends(rows);
  await ledger.close();
  csv += "M1,refund,,,2026-12-03 12:00\nM2,redeem,BDAY50,50,2026-12-20 12:00\n";
  writeFileSync(path.join(dir, "conv.csv"), csv);
}

describe("chuda report", () => {
  it("prints uplift with its interval, writes --json and --html", async () => {
    const dir = copyExampleRepo();
    await seed(dir);
    const r = await chuda(["report", "--conversions", "conv.csv", "--html", "out.html"], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^birthday_gift\s+redeem BDAY50 ≤ 7 days\s+900\s+/m);
    expect(r.stderr).toContain("conv.csv:");
    expect(r.stderr).toContain('rejected: kind "refund"');
    expect(existsSync(path.join(dir, "out.html"))).toBe(true);
    expect(readFileSync(path.join(dir, "out.html"), "utf8")).toContain('"id":"uplift"');
    const j = await chuda(["report", "--conversions", "conv.csv", "--json"], { cwd: dir });
    expect(j.exitCode).toBe(0);
    const json = JSON.parse(j.stdout);
    const c = json.campaigns.find((x: { name: string }) => x.name === "birthday_gift");
    expect(c.treated.members).toBe(900);
    expect(c.control.members).toBe(100);
    expect(c.treated.converted).toBe(300);
    expect(c.control.converted).toBe(10);
    // The uplift built into the data is recovered, and its interval excludes zero.
    expect(c.uplift.absolute.estimate).toBeCloseTo(300 / 900 - 10 / 100, 10);
    expect(c.uplift.absolute.lower).toBeGreaterThan(0);
    expect(c.uplift.absolute.lower).toBeLessThan(0.2333);
    expect(c.uplift.absolute.upper).toBeGreaterThan(0.2334);
    expect(json.conversions.rejected).toBe(1);
    expect(json.conversions.unattributed).toBe(1); // M2's redemption after the window
  });

  it("exits 2 with a hint when there is no ledger or the export lacks a mapped column", async () => {
    const dir = copyExampleRepo();
    writeFileSync(path.join(dir, "conv.csv"), "member_id,kind\nM1,visit\n");
    const a = await chuda(["report", "--conversions", "conv.csv"], { cwd: dir });
    expect(a.exitCode).toBe(2);
    expect(a.stderr).toMatch(/no dispatch ledger/);
    await seed(dir);
    writeFileSync(path.join(dir, "conv.csv"), "member_id,kind\nM1,visit\n");
    const b = await chuda(["report", "--conversions", "conv.csv"], { cwd: dir });
    expect(b.exitCode).toBe(2);
    expect(b.stderr).toMatch(/has no column `time`/);
    expect(hasStackTrace(a.stderr + b.stderr)).toBe(false);
  });
});
