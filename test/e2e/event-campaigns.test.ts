/**
 * Event-triggered campaigns in the authoring commands, on the built CLI: validate (unknown events and properties
 * with suggestions, types), fmt (the canonical form), calendar (campaigns that fire on events, listed apart).
 */
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { chuda, copyExampleRepo, hasStackTrace } from "./cli.js";

const EVENTS = "\nevents:\n  purchase: { amount: number, store: string }\n  oa_follow:\n";

function repo(campaigns: string): string {
  const dir = copyExampleRepo();
  appendFileSync(path.join(dir, "chuda.yaml"), EVENTS);
  writeFileSync(path.join(dir, "campaigns/events.chuda"), campaigns);
  return dir;
}

const GOOD = `campaign thank_you "消费感谢" {
  audience tier >= silver and event.amount >= 500
  trigger  on event "purchase" at most once per 7 days
  content  "post_purchase"
  channel  wecom
  goal     visit within 7 days
}

campaign follow_welcome "关注欢迎" {
  audience not unsubscribed
  trigger  30 minutes after event "oa_follow"
  content  "post_purchase"
  channel  wecom
  goal     visit within 7 days
}
`;

describe("event-triggered campaigns on the CLI", () => {
  it("validate accepts them; calendar lists them as firing on events", async () => {
    const dir = repo(GOOD);
    const v = await chuda(["validate"], { cwd: dir });
    expect(v.exitCode, v.stdout + v.stderr).toBe(0);
    const cal = await chuda(["calendar", "--from", "2026-12-01", "--to", "2026-12-07"], { cwd: dir });
    expect(cal.exitCode, cal.stderr).toBe(0);
    expect(cal.stdout).toMatch(/Triggered by events/);
    expect(cal.stdout).toMatch(/thank_you\s+on event purchase \(at most once per 7 days\)/);
    expect(cal.stdout).toMatch(/follow_welcome\s+30 minutes after event oa_follow/);
    const json = JSON.parse((await chuda(["calendar", "--from", "2026-12-01", "--to", "2026-12-07", "--json"], { cwd: dir })).stdout) as {
      on_event: { campaign: string; event: string }[];
    };
    expect(json.on_event.map((e) => `${e.campaign}:${e.event}`).sort()).toEqual(["follow_welcome:oa_follow", "thank_you:purchase"]);
  });

  it("validate reports an unknown event, an unknown property and a type mismatch, with suggestions, exit 1", async () => {
    const dir = repo(
      GOOD.replace('on event "purchase"', 'on event "purchse"').replace("event.amount >= 500", "event.amout >= 500") +
        `\ncampaign typed {\n  audience event.store > 3\n  trigger  on event "purchase"\n  content  "post_purchase"\n  channel  wecom\n  goal     visit within 7 days\n}\n`,
    );
    const r = await chuda(["validate", "--format", "json"], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(hasStackTrace(r.stderr)).toBe(false);
    const diags = (JSON.parse(r.stdout) as { diagnostics: { code: string; message: string; help?: string }[] }).diagnostics;
    const unknown = diags.find((d) => d.code === "CH3100")!;
    expect(unknown.message).toContain("purchse");
    expect(unknown.help).toContain("purchase");
    // With the event unknown, its properties cannot be typed: the typed campaign reports the mismatch.
    expect(diags.some((d) => d.code.startsWith("CH30") && d.message.includes("event.store"))).toBe(true);
    const pretty = await chuda(["validate"], { cwd: dir });
    expect(pretty.stdout + pretty.stderr).toMatch(/CH3100/);
  });

  it("fmt writes the canonical form and --check passes after", async () => {
    const dir = repo(
      `campaign thank_you {\n  audience   event.amount>=500\n  trigger on   event   "purchase"  at most once per 7 days\n  content "post_purchase"\n  channel wecom\n  goal visit within 7 days\n}\n`,
    );
    const f = await chuda(["fmt", "campaigns/events.chuda"], { cwd: dir });
    expect(f.exitCode, f.stderr).toBe(0);
    const text = readFileSync(path.join(dir, "campaigns/events.chuda"), "utf8");
    expect(text).toContain('  trigger  on event "purchase" at most once per 7 days\n');
    expect(text).toContain("  audience event.amount >= 500\n");
    expect((await chuda(["fmt", "--check", "campaigns/events.chuda"], { cwd: dir })).exitCode).toBe(0);
  });

  it("chuda test: a test case supplies events; a wrong event in a test file is reported at its line", async () => {
    const dir = repo(GOOD);
    writeFileSync(
      path.join(dir, "tests/events.yaml"),
      [
        "campaigns: [thank_you]",
        "tests:",
        "  - name: a big purchase is thanked at once, a small one is not, a quiet-hours one waits for the morning",
        '    at: "2026-12-04 10:00"',
        "    members:",
        "      - { member_id: M1, tier: gold, wecom_external_userid: wmM1, wecom_owner: staff11 }",
        "      - { member_id: M2, tier: gold, wecom_external_userid: wmM2, wecom_owner: staff11 }",
        "      - { member_id: M3, tier: gold, wecom_external_userid: wmM3, wecom_owner: staff11 }",
        "    events:",
        '      - { member: M1, name: purchase, at: "2026-12-04 09:40", props: { amount: 800, store: A1 } }',
        '      - { member: M2, name: purchase, at: "2026-12-04 09:45", props: { amount: 100 } }',
        '      - { member: M3, name: purchase, at: "2026-12-03 22:30", props: { amount: 900 } }',
        "    expect:",
        "      - member: M1",
        '        sends: [{ campaign: thank_you, channel: wecom, at: "2026-12-04 09:40" }]',
        "      - { member: M2, nothing: not in audience }",
        "      - member: M3",
        '        sends: [{ campaign: thank_you, channel: wecom, at: "2026-12-04 09:00" }]',
        "",
      ].join("\n"),
    );
    const ok = await chuda(["test", "tests/events.yaml"], { cwd: dir });
    expect(ok.exitCode, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/1 passed/);
    writeFileSync(
      path.join(dir, "tests/bad.yaml"),
      'tests:\n  - name: bad\n    at: "2026-12-04 10:00"\n    members: [{ member_id: M1 }]\n    events:\n      - { member: M1, name: purchse, at: "2026-12-04 09:40" }\n    expect: [{ member: M1, sends: [] }]\n',
    );
    const bad = await chuda(["test", "tests/bad.yaml"], { cwd: dir });
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout + bad.stderr).toMatch(/CH3106[\s\S]*purchse/);
    expect(hasStackTrace(bad.stderr)).toBe(false);
  });
});
