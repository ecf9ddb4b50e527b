/**
 * Proof end to end: a dispatch against the provider fakes, then conversions generated to favour the treated group by
 * a known amount (30 % against 10 %), then `chuda report`: the uplift it finds must hold the true 20 points within
 * its 95 % interval.
 */
import { afterAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { dispatch, ledgerRows, makeMembers, makeRepo, run, startFakes, summaryOf, type Fakes } from "./dispatch-helpers.js";

let fakes: Fakes | undefined;
afterAll(async () => fakes?.close());

/** A small seeded PRNG (mulberry32), so the conversions are the same on every run. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("chuda report after a real dispatch", () => {
  it("recovers a known uplift within its interval", async () => {
    const members = makeMembers(3000, 21);
    fakes = await startFakes(members);
    const repo = makeRepo({
      channels: fakes.channels,
      campaigns: [
        {
          name: "gift",
          template: "gift",
          channels: ["wecom", "template_message", "sms"],
          trigger: "once at 2026-12-24 10:00",
          holdout: 30,
          with: { coupon: "XMAS50", amount: 50 },
        },
      ],
      members,
    });
    const d = await dispatch(repo, "2026-12-24 10:30");
    const s = summaryOf(d);
    expect(s.planned).toBeGreaterThan(1000);
    expect(s.held_out).toBeGreaterThan(500);

    const rows = ledgerRows(repo).filter((r) => r.campaign === "gift");
    const treated = rows.filter((r) => r.state === "sent" || r.state === "queued");
    const control = rows.filter((r) => r.state === "held_out");
    const r = rng(99);
    let csv = "member_id,kind,code,amount,time\n";
    for (const row of treated) if (r() < 0.3) csv += `${row.member},visit,,0,2026-12-25 15:00\n`;
    for (const row of control) if (r() < 0.1) csv += `${row.member},visit,,0,2026-12-25 15:00\n`;
    writeFileSync(path.join(repo.dir, "conversions.csv"), csv);

    const rep = await run(repo, ["report", "--conversions", "conversions.csv", "--json"]);
    expect(rep.exitCode, rep.stderr).toBe(0);
    const c = JSON.parse(rep.stdout).campaigns.find((x: { name: string }) => x.name === "gift");
    expect(c.treated.members).toBe(treated.length);
    expect(c.control.members).toBe(control.length);
    const u = c.uplift.absolute;
    expect(u.lower).toBeLessThan(0.2);
    expect(u.upper).toBeGreaterThan(0.2);
    expect(u.lower).toBeGreaterThan(0); // and the interval says the campaign worked
    expect(Math.abs(u.estimate - 0.2)).toBeLessThan(0.06);
  });
});
