/** Hostile and extreme inputs: every one is a clear message with exit 1 or 2, never an internal error. */
import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { chuda, copyExampleRepo, hasStackTrace } from "./cli.js";

let dir: string;
let members: string;

beforeAll(async () => {
  dir = copyExampleRepo();
  members = path.join(dir, "members.csv");
  const g = await chuda(["sample-members", "--count", "50", "--out", members], { cwd: dir });
  expect(g.exitCode, g.stderr).toBe(0);
}, 120_000);

function clean(r: { stdout: string; stderr: string }): void {
  const all = r.stdout + r.stderr;
  expect(all).not.toMatch(/internal error|this is a bug/);
  expect(hasStackTrace(all)).toBe(false);
}

const campaignWith = (audience: string) =>
  `campaign extreme {\n  audience ${audience}\n  trigger every day at 10:00\n  content "birthday" with { coupon: "BDAY50", amount: 50 }\n  channel sms\n}\n`;

describe("invalid dates and moments in flags", () => {
  for (const [args, value] of [
    [["simulate", "--at", "2026-02-30 10:00"], "2026-02-30 10:00"],
    [["simulate", "--at", "2026-02-29"], "2026-02-29"],
    [["simulate", "--at", ""], ""],
    [["simulate", "--at", "2026-03-01 24:00"], "2026-03-01 24:00"],
    [["calendar", "--from", "2026-02-30"], "2026-02-30"],
    [["calendar", "--to", "2026-04-31"], "2026-04-31"],
    [["dispatch", "--dry-run", "--at", "2026-02-30 10:00"], "2026-02-30 10:00"],
  ] as const) {
    it(`${args.join(" ")} is a usage error naming the value`, async () => {
      const extra = args[0] === "calendar" ? [] : ["--members", members];
      const r = await chuda([...args, ...extra], { cwd: dir });
      clean(r);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(`"${value}"`);
      expect(r.stdout).not.toMatch(/No occurrences/);
    });
  }

  it("a valid leap day and an ISO moment with an offset still work", async () => {
    const r = await chuda(["calendar", "--from", "2028-02-29", "--to", "2028-03-01"], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const s = await chuda(["simulate", "--members", members, "--at", "2026-03-01T10:00:00+08:00", "--json"], { cwd: dir });
    expect(s.exitCode, s.stderr).toBe(0);
  });

  it("CHUDA_NOW that is not a moment is refused, not ignored", async () => {
    const r = await chuda(["calendar"], { cwd: dir, env: { CHUDA_NOW: "garbage" } });
    clean(r);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('CHUDA_NOW="garbage" is not a moment');
  });
});

describe("unbounded numbers", () => {
  it("sample-members --count 1e12 is refused before writing anything", async () => {
    const out = path.join(dir, "huge.csv");
    const r = await chuda(["sample-members", "--count", "1e12", "--out", out], { cwd: dir });
    clean(r);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--count 1e12 is more than 50,000,000 members/);
    expect(existsSync(out)).toBe(false);
  });

  it("concurrency: 100000000 in chuda.yaml is a diagnostic at the value", async () => {
    const d = copyExampleRepo();
    const yaml = path.join(d, "chuda.yaml");
    const text = (await import("node:fs"))
      .readFileSync(yaml, "utf8")
      .replace("    driver: aliyun-sms\n", "    driver: aliyun-sms\n    concurrency: 100000000\n");
    writeFileSync(yaml, text);
    const r = await chuda(["validate"], { cwd: d });
    clean(r);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/`channels\.sms\.concurrency` must be a whole number from 1 to 64, found 100000000/);
  });
});

describe("expressions and literals that validate must simulate", () => {
  for (const [name, audience, code] of [
    ["211 nested parentheses", `${"(".repeat(211)}unsubscribed${")".repeat(211)}`, "CH1030"],
    ["1,049 nots", `${"not ".repeat(1049)}unsubscribed`, "CH1031"],
    ["3,479 and terms", Array(3479).fill("unsubscribed").join(" and "), "CH1031"],
    ["2,628 + terms", `points > ${Array(2628).fill("1").join(" + ")}`, "CH1031"],
    ["today - 3000000000 days", "birthday > today - 3000000000 days", "CH1033"],
    ["today - 2147483647 days", "birthday > today - 2147483647 days", "CH1033"],
    ["an integer beyond int64", "days_since(birthday) >= 99999999999999999999", "CH1032"],
  ] as const) {
    it(`${name}: validate, fmt --check and simulate report ${code}`, async () => {
      const d = copyExampleRepo();
      writeFileSync(path.join(d, "campaigns/extreme.chuda"), campaignWith(audience));
      const runs = [["validate"], ["fmt", "--check"]];
      // simulate refuses a repository with errors (exit 2) before it plans anything.
      if (code !== "CH1031") runs.push(["simulate", "--members", members]);
      for (const args of runs) {
        const r = await chuda(args, { cwd: d });
        clean(r);
        expect(r.exitCode, `${args[0]}: ${(r.stdout + r.stderr).slice(0, 500)}`).toBe(args[0] === "simulate" ? 2 : 1);
        expect(r.stdout + r.stderr).toContain(`campaigns/extreme.chuda:2:`);
        expect(r.stdout + r.stderr).toContain(code);
      }
    });
  }

  it("1,127 chained segments are refused, and 100 nested parentheses simulate", async () => {
    const d = copyExampleRepo();
    const chain = Array.from({ length: 1127 }, (_, i) => `segment s${i} = ${i === 1126 ? "unsubscribed" : `s${i + 1}`}\n`).join("");
    writeFileSync(path.join(d, "campaigns/extreme.chuda"), chain + campaignWith("not s0"));
    const v = await chuda(["validate"], { cwd: d });
    clean(v);
    expect(v.exitCode).toBe(1);
    expect(v.stdout).toContain("CH3090");
    writeFileSync(path.join(d, "campaigns/extreme.chuda"), campaignWith(`${"(".repeat(100)}not unsubscribed${")".repeat(100)}`));
    const s = await chuda(["simulate", "--members", members, "--json"], { cwd: d });
    clean(s);
    expect(s.exitCode, s.stderr).toBe(0);
  });
});

describe("terminal escapes in member data", () => {
  it("preview shows control characters of a member's name by code point and refuses the message", async () => {
    const { readFileSync } = await import("node:fs");
    const lines = readFileSync(members, "utf8").split("\n");
    const cols = lines[1]!.split(",");
    cols[1] = "范\u001b]52;c;ZXZpbA==\u0007强\u001b[2J";
    lines[1] = cols.join(",");
    const hostile = path.join(dir, "hostile.csv");
    writeFileSync(hostile, lines.join("\n"));
    const r = await chuda(["preview", "birthday_gift", "--members", hostile, "--member", cols[0]!], { cwd: dir });
    clean(r);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(r.stdout).toContain("<U+001B>]52;c;");
    expect(r.stdout).toMatch(/error text: `text` contains the control character <U\+001B>/);
  });
});

describe("size and encoding of campaign files", () => {
  it("a 10 MB garbage file is refused by its size, without parsing it", async () => {
    const d = copyExampleRepo();
    const garbage = Buffer.alloc(10 * 1024 * 1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919) % 251;
    writeFileSync(path.join(d, "campaigns/garbage.chuda"), garbage);
    const r = await chuda(["validate"], { cwd: d });
    clean(r);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/campaigns\/garbage\.chuda:1:1 error CH1034 this file is 10\.0 MB; a campaign file may be at most 2\.0 MB/);
  });

  it("a file with thousands of problems shows 100 and counts the rest, in every format", async () => {
    const d = copyExampleRepo();
    const lines = Array.from({ length: 3000 }, (_, i) => `campaign c${i} { audience ? }`).join("\n");
    writeFileSync(path.join(d, "campaigns/broken.chuda"), lines);
    const j = await chuda(["validate", "--format", "json"], { cwd: d });
    clean(j);
    expect(j.exitCode).toBe(1);
    const out = JSON.parse(j.stdout) as { diagnostics: { file: string; code: string; message: string }[] };
    const mine = out.diagnostics.filter((x) => x.file === "campaigns/broken.chuda");
    expect(mine).toHaveLength(101);
    expect(mine[100]!.code).toBe("CH1037");
    expect(mine[100]!.message).toMatch(/^and \d+ more problems in this file$/);
    const p = await chuda(["validate"], { cwd: d });
    clean(p);
    expect(p.stdout).toMatch(/CH1037 and \d+ more problems in this file/);
  });

  it("invalid UTF-8 is a diagnostic at its line and column, and invisible characters are shown by code point", async () => {
    const d = copyExampleRepo();
    const text = Buffer.concat([
      Buffer.from('campaign x {\n  audience tier >= gold\n  trigger every day at 10:00\n  content "birthday" with { coupon: "BD'),
      Buffer.from([0xff]),
      Buffer.from('AY50", amount: 50 }\n  channel sms\n}\n'),
    ]);
    writeFileSync(path.join(d, "campaigns/x.chuda"), text);
    writeFileSync(path.join(d, "campaigns/y.chuda"), `campaign y\u0000z\u200d${"q".repeat(5000)} {\n}\n`);
    const r = await chuda(["validate"], { cwd: d });
    clean(r);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/campaigns\/x\.chuda:4:40 error CH1036 invalid UTF-8 at byte 105/);
    expect(r.stdout).toContain("unexpected character `<U+0000>`");
    expect(r.stdout).toContain("<U+200D>");
    expect(r.stdout).not.toContain("\u0000");
    expect(r.stdout).not.toContain("q".repeat(200));
    const tpl = path.join(d, "templates/birthday.yaml");
    const { readFileSync: read } = await import("node:fs");
    const original = read(tpl);
    const at = original.indexOf(Buffer.from("\n")) + 1;
    writeFileSync(tpl, Buffer.concat([original.subarray(0, at), Buffer.from("# caf"), Buffer.from([0xc3, 0x28]), Buffer.from("\n"), original.subarray(at)]));
    const t = await chuda(["validate"], { cwd: d });
    clean(t);
    expect(t.stdout).toMatch(/templates\/birthday\.yaml:2:6 error CH1036 invalid UTF-8 at byte \d+/);
    const f = await chuda(["fmt", "campaigns/x.chuda"], { cwd: d });
    clean(f);
    expect(f.exitCode).toBe(1);
    expect(f.stderr).toContain("CH1036");
    const { readFileSync } = await import("node:fs");
    expect(readFileSync(path.join(d, "campaigns/x.chuda")).equals(text)).toBe(true);
  });
});
