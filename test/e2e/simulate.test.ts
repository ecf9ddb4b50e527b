import { describe, expect, it, beforeAll } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import iconv from "iconv-lite";
import { chuda, copyExampleRepo, hasStackTrace } from "./cli.js";

let dir: string;
let members: string;

beforeAll(async () => {
  dir = copyExampleRepo();
  members = path.join(dir, "members.csv");
  const g = await chuda(["sample-members", "--count", "3000", "--seed", "11", "--out", members], { cwd: dir });
  expect(g.exitCode, g.stderr).toBe(0);
});

describe("chuda simulate (built CLI)", () => {
  it("prints the JSON contract, and the funnel identity holds for every campaign", async () => {
    const r = await chuda(["simulate", "--members", members, "--from", "2026-12-01", "--to", "2026-12-30", "--json"], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ members: 3000, rejected: 0, from: "2026-12-01", to: "2026-12-30" });
    expect(s.campaigns.length).toBeGreaterThanOrEqual(12);
    let sends = 0;
    for (const c of s.campaigns) {
      for (const k of ["name", "occurrences", "audience", "holdout", "unreachable", "capped", "sends", "deferred", "by_channel", "estimated"])
        expect(c).toHaveProperty(k);
      expect(c.audience).toBe(c.holdout + c.unreachable + c.capped + c.sends);
      expect(Object.values(c.by_channel as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(c.sends);
      for (const k of ["delivered", "opened", "converted", "cost"]) expect(typeof c.estimated[k]).toBe("number");
      sends += c.sends;
    }
    expect(s.total.sends).toBe(sends);
    expect(s.total.members_reached).toBeLessThanOrEqual(sends);
    expect(sends).toBeGreaterThan(0);
    // The example templates render for every member of the sample without breaking a provider rule.
    expect(s.campaigns.flatMap((c: { problems: unknown[] }) => c.problems)).toEqual([]);
    const d12 = s.campaigns.find((c: { name: string }) => c.name === "double12_flash");
    expect(d12.occurrences).toBe(1);
    expect(d12.holdout).toBeGreaterThan(0);
  });

  it("writes a masked plan CSV and a self-contained HTML report", async () => {
    const plan = path.join(dir, "plan.csv");
    const report = path.join(dir, "report.html");
    const r = await chuda(["simulate", "--members", members, "--from", "2026-12-01", "--to", "2026-12-14", "--plan", plan, "--report", report], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Total/);
    const csv = readFileSync(plan, "utf8");
    expect(csv.split("\n")[0]).toBe("campaign,occurrence,member,channel,address,send_at,send_at_local,reason");
    expect(csv).not.toMatch(/(?<!\d)1[3-9]\d{9}(?!\d)/); // no unmasked mobile number
    expect(csv).toMatch(/1\d{2}\*{4}\d{4}/);
    const html = readFileSync(report, "utf8");
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/https?:\/\/(?!m\.example\.com)[^"'\s]*\.(js|css)/);
    expect(html).toContain("echarts");
  });

  it("reads a GBK export with broken rows, reporting them by line", async () => {
    const header =
      "member_id,name,mobile,gender,birthday,tier,points,registered_at,last_purchase_at,spend_12m,tags,distance_km,wecom_external_userid,wecom_owner,openid,oa_subscribed,sms_opt_in,unsubscribed\n";
    const rows = [
      "G1,王伟,13812341234,M,1990-12-05,gold,100,2020-01-01 10:00:00,2026-11-01 10:00:00,5000,亲子;美妆,1.5,wmG1,staff1,,false,true,false",
      "G2,李娜,13912341234,F,1991-02-30,silver,100,2020-01-01 10:00:00,2026-11-01 10:00:00,5000,,2.5,,,,false,true,false",
      "G3,张敏,13712341234,F,1992-12-06,titanium,100,2020-01-01 10:00:00,2026-11-01 10:00:00,5000,,2.5,,,,false,true,false",
      "G1,重复,13612341234,F,1992-12-06,gold,100,2020-01-01 10:00:00,2026-11-01 10:00:00,5000,,2.5,,,,false,true,false",
      "G5,赵磊,13512341234,M,1985-12-07,platinum,abc,2020-01-01 10:00:00,2026-11-01 10:00:00,5000,,3.5,,,,false,true,false",
    ];
    const gbk = path.join(dir, "gbk.csv");
    writeFileSync(gbk, iconv.encode(header + rows.join("\n") + "\n", "gbk"));
    const r = await chuda(["simulate", "--members", gbk, "--from", "2026-12-01", "--to", "2026-12-10", "--json"], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.members).toBe(1);
    expect(s.rejected).toBe(4);
    expect(r.stderr).toMatch(/gbk\.csv:3:1 warning \w+ 1 snapshot row\(s\) rejected: `birthday` is not a date/); // 1991-02-30
    expect(r.stderr).toMatch(/gbk\.csv:4:1 .*`tier` is not one of/); // unknown tier
    expect(r.stderr).toMatch(/gbk\.csv:5:1 .*duplicate `member_id`/); // duplicate key
    expect(r.stderr).toMatch(/gbk\.csv:6:1 .*`points` is not a number/); // bad number
    const strict = await chuda(["simulate", "--members", gbk, "--from", "2026-12-01", "--to", "2026-12-10", "--strict"], { cwd: dir });
    // The command cannot run on these members: exit 2, as dispatch --strict; --json still gets a JSON answer.
    expect(strict.exitCode).toBe(2);
    expect(strict.stderr).toMatch(/^chuda: 4 snapshot rows were rejected and --strict is set$/m);
    expect(hasStackTrace(strict.stderr + strict.stdout)).toBe(false);
    const json = await chuda(["simulate", "--members", gbk, "--from", "2026-12-01", "--to", "2026-12-10", "--strict", "--json"], { cwd: dir });
    expect(json.exitCode).toBe(2);
    expect(JSON.parse(json.stdout).diagnostics.map((d: { code: string }) => d.code)).toEqual(["CH9028"]);
  });

  it("a file whose only fault is duplicate keys: the later rows are rejected by line, the plan is the one without them", async () => {
    // Duplicate keys alone are looked for while the planner runs; when some are found the plan is made again.
    const lines = readFileSync(members, "utf8").trimEnd().split("\n");
    const dupes = [lines[1]!, lines[7]!].map((l) =>
      l.replace(/,(normal|silver|gold|platinum|diamond),/, ",diamond,").replace(/,(true|false),(true|false),(true|false)$/, ",true,true,false"),
    );
    const withDupes = path.join(dir, "dupes.csv");
    writeFileSync(withDupes, [...lines, ...dupes].join("\n") + "\n");
    const args = ["--from", "2026-12-01", "--to", "2026-12-30", "--json"];
    const [clean, dup] = await Promise.all([
      chuda(["simulate", "--members", members, ...args], { cwd: dir }),
      chuda(["simulate", "--members", withDupes, ...args], { cwd: dir }),
    ]);
    expect(dup.exitCode, dup.stderr).toBe(0);
    const a = JSON.parse(clean.stdout);
    const b = JSON.parse(dup.stdout);
    expect(b.members).toBe(3000);
    expect(b.rejected).toBe(2);
    expect({ ...b, rejected: 0 }).toEqual(a);
    expect(dup.stderr).toMatch(
      new RegExp(
        `dupes\\.csv:${lines.length + 1}:1 warning \\w+ 2 snapshot row\\(s\\) rejected: duplicate \`member_id\`[\\s\\S]*${lines.length + 1}, ${lines.length + 2}`,
      ),
    );
    expect(dup.stderr.match(/snapshot row\(s\) rejected/g)).toHaveLength(1); // reported once
  });

  it("a template broken for some members shows up in validate (what is known without members) and in the simulation's counts", async () => {
    const broken = copyExampleRepo();
    writeFileSync(path.join(broken, "members.csv"), readFileSync(members));
    // thing1 of a template message holds at most 20 characters: a name (2 or 3 characters) repeated 11 times fits no one,
    // and a fixed 21-character text is caught before any member is read.
    const file = path.join(broken, "templates/double12.yaml");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(
        'thing1: "双12会员闪购"',
        'thing1: "{{name}}{{name}}{{name}}{{name}}{{name}}{{name}}{{name}}{{name}}{{name}}{{name}}{{name}}"',
      ),
    );
    const v = await chuda(["validate", "--format", "json"], { cwd: broken });
    expect(v.exitCode, v.stdout).toBe(0); // nothing is wrong before rendering with members
    const r = await chuda(["simulate", "--members", "members.csv", "--from", "2026-12-12", "--to", "2026-12-12", "--json", "double12_flash"], { cwd: broken });
    expect(r.exitCode, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout).campaigns[0];
    const p = c.problems.find((x: { field: string }) => x.field === "data.thing1");
    expect(p).toBeDefined();
    expect(p.channel).toBe("template_message");
    expect(p.members).toBe(c.by_channel.template_message);
    writeFileSync(file, readFileSync(file, "utf8").replace(/thing1: "[^"]*"/, 'thing1: "双12会员闪购：全场满一百元减三十元仅限本周末"'));
    const v2 = await chuda(["validate", "--format", "json"], { cwd: broken });
    expect(v2.exitCode).toBe(1);
    expect(JSON.parse(v2.stdout).diagnostics.some((d: { file: string; line: number }) => d.file === "templates/double12.yaml" && d.line === 7)).toBe(true);
  });

  it("renders on worker threads exactly as on the main thread: SMS priced per segment, content problems counted", async () => {
    const repo = copyExampleRepo();
    writeFileSync(path.join(repo, "members.csv"), readFileSync(members));
    const file = path.join(repo, "templates/double12.yaml");
    let t = readFileSync(file, "utf8");
    // SMS of more than one segment; a template-message field too long for some names.
    t = t.replace(
      "双12会员闪购${amount}元礼券已到账，满100元可用。",
      "双12会员闪购${amount}元礼券已到账，满100元可用，全场会员专享满300减50、积分翻倍、停车免费三小时，欢迎到一楼服务台领取礼品，详情请咨询服务台工作人员。",
    );
    t = t.replace('params: { name: "{{truncate name 10}}"', 'params: { name: "{{name}}{{name}}{{name}}"');
    t = t.replace('thing1: "双12会员闪购"', 'thing1: "{{name}}{{name}}{{name}}{{name}}{{name}}{{name}}{{name}}"');
    writeFileSync(file, t);
    const run = (pool: string) =>
      chuda(["simulate", "--members", "members.csv", "--from", "2026-12-12", "--to", "2026-12-12", "--json", "double12_flash"], {
        cwd: repo,
        env: { CHUDA_RENDER_POOL: pool },
      });
    const [main, workers] = await Promise.all([run("off"), run("always")]);
    expect(main.exitCode, main.stderr).toBe(0);
    expect(workers.exitCode, workers.stderr).toBe(0);
    const c = JSON.parse(main.stdout).campaigns[0];
    // The special cases are there to be counted: SMS dearer than one segment each, thing1 too long for some.
    expect(c.estimated.cost).toBeGreaterThan(c.by_channel.sms * 0.045 * 1.5);
    const p = c.problems.find((x: { field: string }) => x.field === "data.thing1");
    expect(p.members).toBeGreaterThan(0);
    expect(p.members).toBeLessThan(c.by_channel.template_message);
    expect(JSON.parse(workers.stdout)).toEqual(JSON.parse(main.stdout));
  });

  it("a missing snapshot is one clear line, exit 2", async () => {
    const r = await chuda(["simulate", "--members", "nope.csv"], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^chuda: .*nope\.csv/);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it("calendar prints the coming occurrences as JSON", async () => {
    const r = await chuda(["calendar", "--from", "2026-12-01", "--to", "2026-12-31", "--json"], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const occ = JSON.parse(r.stdout).occurrences as { campaign: string; date: string; time: string; event: string; per_member?: boolean }[];
    expect(occ).toContainEqual(expect.objectContaining({ campaign: "double12_flash", date: "2026-12-12", time: "10:00" }));
    expect(occ.filter((o) => o.campaign === "community_wednesday").map((o) => o.date)).toEqual([
      "2026-12-02",
      "2026-12-09",
      "2026-12-16",
      "2026-12-23",
      "2026-12-30",
    ]);
    expect(occ.find((o) => o.campaign === "birthday_gift")?.per_member).toBe(true);
  });
});
