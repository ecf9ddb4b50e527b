/** Messages that name an author's mistake and the fix, on the built CLI, in a repository made by `chuda init`. */
import { describe, expect, it } from "vitest";
import { mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chuda, hasStackTrace } from "./cli.js";

async function initRepo(): Promise<string> {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), "chuda-authoring-")), "mall");
  expect((await chuda(["init", dir])).exitCode).toBe(0);
  return dir;
}

const CAMPAIGN = (name: string, content: string) => `campaign ${name} {
  audience tier >= silver
  trigger  every day at 10:00
  content  ${content}
  channel  wecom
  goal     visit within 7 days
}
`;

describe("authoring messages (built CLI)", () => {
  it("preview of a member outside the audience names the failing conditions with the member's values", async () => {
    const dir = await initRepo();
    const env = { CHUDA_NOW: "2026-12-03T10:00:00+08:00" };
    const out = await chuda(["preview", "birthday_gift", "--members", "members.sample.csv", "--member", "M004"], { cwd: dir, env });
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toContain("not in the audience on 2026-12-03:\n  tier >= silver: tier is normal\n  within 10 km: distance_km is 12.0\n");
    const excluded = await chuda(["preview", "birthday_gift", "--members", "members.sample.csv", "--member", "M005", "--json"], { cwd: dir, env });
    expect(JSON.parse(excluded.stdout).why).toEqual(["excluded by policy.exclude (unsubscribed): unsubscribed is true"]);
    writeFileSync(
      path.join(dir, "no-birthday.csv"),
      "member_id,name,tier,distance_km,wecom_external_userid,wecom_owner,birthday\nM9,王伟,gold,1.0,wm9,staff01,\n",
    );
    const undated = await chuda(["preview", "birthday_gift", "--members", "no-birthday.csv", "--member", "M9"], { cwd: dir, env });
    expect(undated.stdout).toContain("not in the audience on 2026-12-03:\n  the trigger needs birthday: birthday is missing\n");
  });

  it("a tab in a template is one error at the tab, with nothing cascading into the campaigns that use it", async () => {
    const dir = await initRepo();
    writeFileSync(path.join(dir, "templates/tabbed.yaml"), 'wecom:\n\ttext: "会员您好"\n');
    writeFileSync(path.join(dir, "campaigns/tabbed.chuda"), CAMPAIGN("tabbed_a", '"tabbed"') + CAMPAIGN("tabbed_b", '"tabbed"'));
    const r = await chuda(["validate", "--format", "json"], { cwd: dir });
    expect(r.exitCode).toBe(1);
    const d = JSON.parse(r.stdout).diagnostics;
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({
      file: "templates/tabbed.yaml",
      line: 2,
      column: 1,
      code: "CH5001",
      help: "indent with spaces: YAML does not allow a tab in indentation",
    });
  });

  it("a `with` key named like a helper, and a template reading `{{date}}`, say so", async () => {
    const dir = await initRepo();
    writeFileSync(path.join(dir, "templates/dated.yaml"), 'wecom:\n  text: "会员您好，活动日期 {{date}}"\n');
    writeFileSync(path.join(dir, "campaigns/dated.chuda"), CAMPAIGN("dated", '"dated" with { date: "12月24日" }'));
    const r = await chuda(["validate", "--format", "json"], { cwd: dir });
    expect(r.exitCode).toBe(1);
    const d = JSON.parse(r.stdout).diagnostics.map((x: { code: string; message: string }) => `${x.code} ${x.message}`);
    expect(d).toEqual([
      "CH3080 `date` in `with` has the name of the template helper `date`: a template reading `{{date}}` calls the helper, not this value",
      "CH5080 `{{date}}` calls the helper `date` without its argument: a variable cannot be named `date`",
    ]);
  });

  it("a duplicate campaign is reported in the newer file, naming both places, also when only that file is validated", async () => {
    const dir = await initRepo();
    const newer = path.join(dir, "campaigns/a_new.chuda");
    writeFileSync(newer, CAMPAIGN("birthday_gift", '"birthday" with { coupon: "X", amount: 5 }'));
    utimesSync(path.join(dir, "campaigns/birthday.chuda"), new Date("2026-01-01"), new Date("2026-01-01"));
    utimesSync(newer, new Date("2026-06-01"), new Date("2026-06-01"));
    for (const args of [
      ["validate", "--format", "json"],
      ["validate", "campaigns/a_new.chuda", "--format", "json"],
    ]) {
      const r = await chuda(args, { cwd: dir });
      expect(r.exitCode).toBe(1);
      expect(hasStackTrace(r.stderr)).toBe(false);
      const d = JSON.parse(r.stdout).diagnostics;
      expect(d.map((x: { file: string; line: number; code: string; message: string }) => `${x.file}:${x.line} ${x.code} ${x.message}`)).toEqual([
        "campaigns/a_new.chuda:1 CH3001 the name `birthday_gift` is already used by a campaign at campaigns/birthday.chuda:2:10",
      ]);
    }
  });

  it("chuda init's schema takes every row of chuda sample-members, and its own sample sends today", async () => {
    const env = { CHUDA_NOW: "2026-12-03T08:00:00+08:00" };
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), "chuda-authoring-")), "mall");
    expect((await chuda(["init", dir], { env })).exitCode).toBe(0);
    expect((await chuda(["sample-members", "--count", "1000", "--seed", "7", "--out", "sample.csv"], { cwd: dir, env })).exitCode).toBe(0);
    const big = await chuda(["simulate", "--members", "sample.csv", "--json"], { cwd: dir, env });
    expect(big.exitCode, big.stderr).toBe(0);
    expect(JSON.parse(big.stdout)).toMatchObject({ members: 1000, rejected: 0 });
    const today = await chuda(["simulate", "--members", "members.sample.csv", "--from", "2026-12-03", "--to", "2026-12-03", "--json"], { cwd: dir, env });
    expect(today.exitCode, today.stderr).toBe(0);
    expect(JSON.parse(today.stdout).total.sends).toBeGreaterThan(0);
  });
});
