import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import iconv from "iconv-lite";
import { DuckDBInstance } from "@duckdb/node-api";
import { parseAmount, parseConversionTime, readConversions } from "./conversions.js";
import type { ConversionsMapping } from "../project/types.js";

const FIX = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../test/fixtures/outcomes");
const TZ = "Asia/Shanghai";
const DEFAULT: ConversionsMapping = { member: "member_id", kind: "kind", code: "code", amount: "amount", time: "time" };
const project = { timezone: TZ, conversions: DEFAULT };
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), "chuda-conv-test-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("conversion times", () => {
  it("reads local times in the project timezone and explicit offsets as given", () => {
    expect(parseConversionTime("2026-12-02 10:00", TZ)).toBe(Date.UTC(2026, 11, 2, 2, 0));
    expect(parseConversionTime("2026-12-02T10:00:30", TZ)).toBe(Date.UTC(2026, 11, 2, 2, 0, 30));
    expect(parseConversionTime("2026-12-02 10:00:00+08", TZ)).toBe(Date.UTC(2026, 11, 2, 2, 0));
    expect(parseConversionTime("2026-12-02 02:00Z", TZ)).toBe(Date.UTC(2026, 11, 2, 2, 0));
    expect(parseConversionTime("2026-12-02 10:00-0130", TZ)).toBe(Date.UTC(2026, 11, 2, 11, 30));
    expect(parseConversionTime("2026-12-02", TZ)).toMatch(/no hour and minute/);
    expect(parseConversionTime("2026-12-02 25:00", TZ)).toMatch(/not a real moment/);
    expect(parseConversionTime(12, TZ)).toMatch(/must be text/);
  });
});

describe("reading a conversions export", () => {
  it("reads CSV and rejects bad rows with their line numbers", async () => {
    const r = await readConversions(path.join(FIX, "conversions.csv"), project);
    expect(r.format).toBe("csv");
    expect(r.missingColumns).toEqual([]);
    expect(r.rows).toBe(11);
    expect(r.conversions.map((c) => [c.line, c.member, c.kind, c.code, c.amount])).toEqual([
      [2, "M001", "redeem", "BDAY50", 50],
      [3, "M001", "redeem", "BDAY50", 1200.5],
      [4, "M002", "purchase", undefined, 320],
      [5, "M003", "visit", undefined, undefined],
      [12, "M009", "event", "店庆签到", undefined],
    ]);
    expect(r.conversions[2]!.at).toBe(Date.UTC(2026, 11, 2, 10, 0));
    expect(r.conversions[3]!.at).toBe(Date.UTC(2026, 11, 2, 2, 0));
    expect(r.rejected.map((x) => x.line)).toEqual([6, 7, 8, 9, 10, 11]);
    expect(r.rejected[0]!.reason).toMatch(/kind "refund" is not one of redeem, visit, purchase, event/);
    expect(r.rejected[1]!.reason).toMatch(/no member \(member_id\)/);
    expect(r.rejected[2]!.reason).toMatch(/a redeem needs a coupon code \(code\)/);
    expect(r.rejected[3]!.reason).toMatch(/amount "abc"/);
    expect(r.rejected[4]!.reason).toMatch(/no hour and minute/);
    expect(r.rejected[5]!.reason).toMatch(/not a real moment/);
  });

  it("reads JSON Lines with exact line numbers", async () => {
    const r = await readConversions(path.join(FIX, "conversions.jsonl"), project);
    expect(r.format).toBe("jsonl");
    expect(r.conversions.map((c) => [c.line, c.member, c.amount])).toEqual([
      [1, "M001", 50],
      [3, "M002", 320],
      [5, "M003", undefined],
    ]);
    expect(r.rejected).toEqual([
      { line: 4, reason: "not valid JSON" },
      { line: 6, reason: "not a JSON object" },
      { line: 7, reason: "a redeem needs a coupon code (code)" },
    ]);
    expect(r.rows).toBe(6);
  });

  it("uses the column names mapped in chuda.yaml, and decodes GBK", async () => {
    const mapping: ConversionsMapping = { member: "会员号", kind: "类型", code: "券码", amount: "金额", time: "时间" };
    const utf8 = await readConversions(path.join(FIX, "mapped.csv"), { timezone: TZ, conversions: mapping });
    expect(utf8.conversions).toEqual([{ member: "M001", kind: "redeem", code: "BDAY50", amount: 50, at: Date.UTC(2026, 11, 2, 4, 0), line: 2 }]);
    const gbkFile = path.join(tmp, "gbk.csv");
    await writeFile(gbkFile, iconv.encode(await readFile(path.join(FIX, "mapped.csv"), "utf8"), "gbk"));
    const gbk = await readConversions(gbkFile, { timezone: TZ, conversions: mapping });
    expect(gbk.conversions).toEqual(utf8.conversions);
  });

  it("names the required columns a file lacks", async () => {
    const r = await readConversions(path.join(FIX, "no-time.csv"), project);
    expect(r.missingColumns).toEqual(["time"]);
    expect(r.conversions).toEqual([]);
  });

  it("reads Parquet, timestamps included", async () => {
    const file = path.join(tmp, "c.parquet");
    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    await conn.run(
      `COPY (SELECT * FROM (VALUES ('M1', 'purchase', NULL, 199.5, TIMESTAMP '2026-12-02 10:00:00'), ('M2', 'nope', NULL, 1.0, TIMESTAMP '2026-12-02 10:00:00')) t(member_id, kind, code, amount, time)) TO '${file}' (FORMAT parquet)`,
    );
    conn.closeSync();
    db.closeSync();
    const r = await readConversions(file, project);
    expect(r.format).toBe("parquet");
    expect(r.conversions).toEqual([{ member: "M1", kind: "purchase", amount: 199.5, at: Date.UTC(2026, 11, 2, 2, 0), line: 1 }]);
    expect(r.rejected.map((x) => x.line)).toEqual([2]);
  });
});

describe("amounts", () => {
  it("accept ¥ and ￥, , and ， separators and a trailing 元; refuse anything else", () => {
    expect(parseAmount("1234.5")).toBe(1234.5);
    expect(parseAmount("¥1,234.50")).toBe(1234.5);
    expect(parseAmount("￥1，234.50")).toBe(1234.5);
    expect(parseAmount(" ￥ 88 ")).toBe(88);
    expect(parseAmount("320元")).toBe(320);
    expect(parseAmount("￥１，２３４．５")).toBe(1234.5);
    for (const bad of ["", "￥", "abc", "1.2.3", "¥¥5", "12 34"]) expect(parseAmount(bad), bad).toBeNaN();
  });

  it("read from a GBK export whose amounts carry the full-width ￥", async () => {
    const file = path.join(tmp, "gbk-yen.csv");
    await writeFile(
      file,
      iconv.encode("member_id,kind,code,amount,time\nM1,purchase,,￥1，299.00,2026-12-02 10:00\nM2,purchase,,￥88,2026-12-02 11:00\n", "gbk"),
    );
    const r = await readConversions(file, project);
    expect(r.rejected).toEqual([]);
    expect(r.conversions.map((c) => c.amount)).toEqual([1299, 88]);
  });

  it("a conversions file is read as written: `c[1].csv` is not `c1.csv`", async () => {
    await writeFile(path.join(tmp, "c1.csv"), "member_id,kind,code,amount,time\nWRONG,visit,,,2026-12-02 10:00\n");
    await writeFile(path.join(tmp, "c[1].csv"), "member_id,kind,code,amount,time\nRIGHT,visit,,,2026-12-02 10:00\n");
    const r = await readConversions(path.join(tmp, "c[1].csv"), project);
    expect(r.conversions.map((c) => c.member)).toEqual(["RIGHT"]);
  });
});
