/**
 * Snapshot loading against real DuckDB: typed columns from UTF-8, UTF-8 with BOM, GBK, JSON Lines and
 * Parquet; date-times with a UTC offset in the project's zone; rejected rows counted by reason with the lines
 * they start on (past multi-line cells, blank and malformed lines); strict mode; missing columns.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { DuckDBInstance } from "@duckdb/node-api";
import os from "node:os";
import path from "node:path";
import iconv from "iconv-lite";
import { fileLines, openSnapshot, zoneSql, type Snapshot } from "./snapshot.js";
import { detectEncoding } from "./encoding.js";
import { FIXTURE_SCHEMA, projectOf, schemaOf } from "../../test/fixtures/members/project.js";
import { hasErrors } from "../diagnostics/types.js";

const FIX = path.resolve(__dirname, "../../test/fixtures/members");
const project = projectOf(FIXTURE_SCHEMA);
let tmp: string;
const open: Snapshot[] = [];

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "chuda-snapshot-test-"));
});
afterAll(async () => {
  for (const s of open) await s.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function load(file: string, opts: Parameters<typeof openSnapshot>[2] = {}) {
  const r = await openSnapshot(file, project, opts);
  if (r.snapshot) open.push(r.snapshot);
  return r;
}

async function rows(s: Snapshot, cols = "*"): Promise<Record<string, unknown>[]> {
  const res = await s.conn.runAndReadAll(`SELECT ${cols} FROM members ORDER BY member_id`);
  return res.getRowObjectsJS() as Record<string, unknown>[];
}

async function columnTypes(s: Snapshot): Promise<Record<string, string>> {
  const res = await s.conn.runAndReadAll(`DESCRIBE members`);
  return Object.fromEntries(res.getRowsJS().map((r) => [String(r[0]), String(r[1])]));
}

const READABLE = `member_id, name, mobile, tier, strftime(birthday, '%Y-%m-%d') AS birthday,
  strftime(last_purchase_at, '%Y-%m-%d %H:%M:%S') AS last_purchase_at, points,
  CASE WHEN tags = '' THEN []::VARCHAR[] ELSE string_split(tags, ';') END AS tags, distance_km, sms_opt_in, unsubscribed`;

/** What members.csv holds, typed. */
const EXPECTED = [
  {
    member_id: "M001",
    name: "王伟",
    mobile: "01234567890",
    tier: "gold",
    birthday: "1990-03-14",
    last_purchase_at: "2026-05-01 10:00:00",
    points: 120,
    tags: ["亲子", "美妆"],
    distance_km: 2.5,
    sms_opt_in: true,
    unsubscribed: false,
  },
  {
    member_id: "M002",
    name: "李娜",
    mobile: "13923456789",
    tier: "silver",
    birthday: "1988-07-22",
    last_purchase_at: "2026-05-02 11:30:00",
    points: 0,
    tags: null,
    distance_km: 6.1,
    sms_opt_in: true,
    unsubscribed: false,
  },
  {
    member_id: "M003",
    name: "张, 敏",
    mobile: "15034567890",
    tier: "diamond",
    birthday: "2000-02-29",
    last_purchase_at: "2026-05-03 09:15:00",
    points: 1000,
    tags: ["餐饮", "运动"],
    distance_km: 1.2,
    sms_opt_in: true,
    unsubscribed: false,
  },
  {
    member_id: "M004",
    name: null,
    mobile: null,
    tier: null,
    birthday: null,
    last_purchase_at: null,
    points: null,
    tags: null,
    distance_km: null,
    sms_opt_in: null,
    unsubscribed: null,
  },
];

describe("openSnapshot: typed loading", () => {
  it("loads UTF-8 CSV into typed columns; empty cells are missing; extra columns are ignored", async () => {
    const { snapshot, diagnostics } = await load(path.join(FIX, "members.csv"));
    expect(diagnostics).toEqual([]);
    expect(snapshot!.count).toBe(4);
    expect(snapshot!.rejectedTotal).toBe(0);
    expect(snapshot!.encoding).toBe("utf-8");
    expect(await columnTypes(snapshot!)).toEqual({
      member_id: "VARCHAR",
      name: "VARCHAR",
      mobile: "VARCHAR",
      tier: "VARCHAR",
      birthday: "DATE",
      last_purchase_at: "TIMESTAMP",
      points: "DOUBLE",
      tags: "VARCHAR", // items joined by `;` (list-text.ts)
      distance_km: "DOUBLE",
      sms_opt_in: "BOOLEAN",
      unsubscribed: "BOOLEAN",
    });
    expect(await rows(snapshot!, READABLE)).toEqual(EXPECTED);
  });

  it("reads list cells as written by people: `a;b`, spaces, full-width ；, doubled or trailing separators", async () => {
    const file = path.join(tmp, "tags.csv");
    const cells = ["亲子;美妆", " 亲子 ; 美妆 ", "亲子；美妆", ";亲子;;美妆;", "亲子", "  ", "亲子 美妆"];
    writeFileSync(file, "member_id,tags\n" + cells.map((c, i) => `M${i + 1},${c}`).join("\n") + "\n");
    const { snapshot } = await load(file);
    // Stored normalized, items joined by `;` ('' is the empty list).
    const got = (await rows(snapshot!, "member_id, tags")).map((r) => r.tags);
    expect(got).toEqual(["亲子;美妆", "亲子;美妆", "亲子;美妆", "亲子;美妆", "亲子", "", "亲子 美妆"]);
  });

  it("reads UTF-8 with a BOM (the first column name is not garbled)", async () => {
    const file = path.join(tmp, "bom.csv");
    writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), readFileSync(path.join(FIX, "members.csv"))]));
    expect(await detectEncoding(file)).toBe("utf-8");
    const { snapshot, diagnostics } = await load(file);
    expect(diagnostics).toEqual([]);
    expect(await rows(snapshot!, READABLE)).toEqual(EXPECTED);
  });

  it("detects GBK and transcodes it (Chinese names and 是/否 booleans survive)", async () => {
    const file = path.join(tmp, "gbk.csv");
    writeFileSync(file, iconv.encode(readFileSync(path.join(FIX, "members.csv"), "utf8"), "gbk"));
    expect(await detectEncoding(file)).toBe("gbk");
    const { snapshot, diagnostics } = await load(file);
    expect(diagnostics).toEqual([]);
    expect(snapshot!.encoding).toBe("gbk");
    expect(await rows(snapshot!, READABLE)).toEqual(EXPECTED);
  });

  it("honours an explicit encoding", async () => {
    const file = path.join(tmp, "gbk-explicit.csv");
    writeFileSync(file, iconv.encode(readFileSync(path.join(FIX, "members.csv"), "utf8"), "gbk"));
    const { snapshot } = await load(file, { encoding: "gbk" });
    expect((await rows(snapshot!, "name")).map((r) => r.name)).toEqual(["王伟", "李娜", "张, 敏", null]);
  });

  it("loads JSON Lines: arrays and 'a;b' strings for lists, numbers and bools as JSON or text, malformed lines rejected", async () => {
    const { snapshot } = await load(path.join(FIX, "members.jsonl"));
    const s = snapshot!;
    expect(s.format).toBe("jsonl");
    expect(await rows(s, READABLE)).toEqual([
      { ...EXPECTED[0] },
      {
        member_id: "M002",
        name: "李娜",
        mobile: "13923456789",
        tier: "silver",
        birthday: "1988-07-22",
        last_purchase_at: null,
        points: 0,
        tags: ["餐饮", "运动"],
        distance_km: null,
        sms_opt_in: true,
        unsubscribed: null,
      },
      {
        member_id: "M005",
        name: null,
        mobile: null,
        tier: null,
        birthday: null,
        last_purchase_at: null,
        points: 3.5,
        tags: [],
        distance_km: null,
        sms_opt_in: null,
        unsubscribed: null,
      },
    ]);
    expect(s.rejected.map((g) => [g.kind, g.field ?? null, g.count, g.lines])).toEqual(
      expect.arrayContaining([
        ["malformed", null, 1, [3]],
        ["bad_value", "tier", 1, [4]],
      ]),
    );
    expect(s.rejectedTotal).toBe(2);
  });

  it("loads Parquet written by DuckDB (native types and text columns)", async () => {
    const csv = await load(path.join(FIX, "members.csv"));
    const file = path.join(tmp, "members.parquet");
    // Native DATE/TIMESTAMP/DOUBLE/BOOLEAN/VARCHAR[] columns (the list stored as `a;b` text), plus the tier as text and a numeric-looking phone as text.
    await csv.snapshot!.conn.run(`COPY (SELECT * FROM members) TO '${file}' (FORMAT parquet)`);
    const { snapshot, diagnostics } = await load(file);
    expect(diagnostics).toEqual([]);
    expect(snapshot!.format).toBe("parquet");
    expect(await rows(snapshot!, READABLE)).toEqual(EXPECTED);
  });

  it("reports schema fields the file lacks and loads them as missing", async () => {
    const file = path.join(tmp, "narrow.csv");
    writeFileSync(file, "member_id,tier\nM1,gold\nM2,\n");
    const { snapshot, diagnostics } = await load(file);
    expect(snapshot!.count).toBe(2);
    expect(snapshot!.missingFields).toEqual(["name", "mobile", "birthday", "last_purchase_at", "points", "tags", "distance_km", "sms_opt_in", "unsubscribed"]);
    expect(diagnostics.map((d) => d.code)).toEqual(Array(9).fill("CH6004"));
    expect(diagnostics.every((d) => d.severity === "warning")).toBe(true);
    expect(await rows(snapshot!, "member_id, tier, birthday")).toEqual([
      { member_id: "M1", tier: "gold", birthday: null },
      { member_id: "M2", tier: null, birthday: null },
    ]);
  });

  it("reads CRLF line endings (Excel exports) and reports progress up to 1", async () => {
    const file = path.join(tmp, "crlf.csv");
    writeFileSync(file, "member_id,points\r\nA,1\r\nB,zz\r\nC,3\r\n");
    const seen: number[] = [];
    const { snapshot } = await openSnapshot(file, projectOf(schemaOf({ member_id: { kind: "string" }, points: { kind: "number" } })), {
      onProgress: (p) => seen.push(p),
    });
    open.push(snapshot!);
    expect(await rows(snapshot!, "member_id, points")).toEqual([
      { member_id: "A", points: 1 },
      { member_id: "C", points: 3 },
    ]);
    expect(snapshot!.rejected).toEqual([{ kind: "bad_value", field: "points", reason: "`points` is not a number", count: 1, lines: [3] }]);
    expect(seen.at(-1)).toBe(1);
  });

  it("rejects infinity and NaN as numbers, in CSV, JSON lines and Parquet alike", async () => {
    const schema = schemaOf({ member_id: { kind: "string" }, points: { kind: "number" } });
    const csv = path.join(tmp, "inf.csv");
    writeFileSync(csv, "member_id,points\nA,1\nB,inf\nC,NaN\nD,-Infinity\nE,2.5\n");
    const jsonl = path.join(tmp, "inf.jsonl");
    writeFileSync(jsonl, ['{"member_id":"A","points":1}', '{"member_id":"B","points":"inf"}', '{"member_id":"E","points":2.5}'].join("\n") + "\n");
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const parquet = path.join(tmp, "inf.parquet");
    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    await conn.run(
      `COPY (SELECT * FROM (VALUES ('A', 1.0::DOUBLE), ('B', 'inf'::DOUBLE), ('C', 'nan'::DOUBLE), ('E', 2.5::DOUBLE)) t(member_id, points)) TO '${parquet}' (FORMAT parquet)`,
    );
    conn.closeSync();
    for (const [file, bad] of [
      [csv, 3],
      [jsonl, 1],
      [parquet, 2],
    ] as const) {
      const { snapshot } = await openSnapshot(file, projectOf(schema));
      open.push(snapshot!);
      expect(await rows(snapshot!, "member_id, points"), file).toEqual([
        { member_id: "A", points: 1 },
        { member_id: "E", points: 2.5 },
      ]);
      expect(
        snapshot!.rejected.map((r) => [r.kind, r.field, r.count]),
        file,
      ).toEqual([["bad_value", "points", bad]]);
    }
  });

  it("matches column names case-insensitively", async () => {
    const file = path.join(tmp, "upper.csv");
    writeFileSync(file, "MEMBER_ID,Tier\nM1,Gold\n");
    const { snapshot } = await openSnapshot(file, projectOf(schemaOf({ member_id: { kind: "string" }, tier: { kind: "enum", values: ["silver", "gold"] } })));
    open.push(snapshot!);
    expect(await rows(snapshot!, "member_id, tier")).toEqual([{ member_id: "M1", tier: "gold" }]);
  });

  it("refuses a header with one name in two cases with one clear error; the same name twice is read (the first)", async () => {
    const schema = schemaOf({ member_id: { kind: "string" }, tier: { kind: "enum", values: ["silver", "gold"] } });
    for (const header of ["member_id,tier,TIER", "member_id,Note,note,tier"]) {
      const file = path.join(tmp, "twice.csv");
      writeFileSync(file, `${header}\nM1,gold,silver${header.split(",").length === 4 ? ",gold" : ""}\n`);
      const { snapshot, diagnostics } = await openSnapshot(file, projectOf(schema));
      expect(snapshot, header).toBeUndefined();
      expect(diagnostics.map((d) => d.code)).toEqual(["CH6029"]);
      expect(diagnostics[0]!.message).toMatch(/has the column `(tier|note)` more than once: `\w+`, `\w+`$/);
    }
    const file = path.join(tmp, "notes.csv");
    writeFileSync(file, "member_id,note,note,tier,tier\nM1,a,b,gold,silver\n");
    const { snapshot } = await openSnapshot(file, projectOf(schema));
    open.push(snapshot!);
    expect(await rows(snapshot!, "member_id, tier")).toEqual([{ member_id: "M1", tier: "gold" }]);
  });
});

describe("openSnapshot: rejected rows", () => {
  it("rejects rows that do not fit, by reason, with source line numbers, and keeps the first row of a duplicated key", async () => {
    const { snapshot, diagnostics } = await load(path.join(FIX, "rejects.csv"));
    const s = snapshot!;
    const byReason = Object.fromEntries(s.rejected.map((g) => [g.kind + (g.field ? ":" + g.field : ""), { count: g.count, lines: g.lines }]));
    expect(byReason["bad_value:birthday"]).toEqual({ count: 1, lines: [3] });
    expect(byReason["bad_value:points"]).toEqual({ count: 1, lines: [4] });
    expect(byReason["bad_value:tier"]).toEqual({ count: 1, lines: [5] });
    expect(byReason["duplicate_key"]).toEqual({ count: 2, lines: [6, 13] });
    expect(byReason["missing_key"]).toEqual({ count: 1, lines: [8] });
    expect(byReason["bad_value:sms_opt_in"]).toEqual({ count: 1, lines: [10] });
    expect(byReason["bad_value:last_purchase_at"]).toEqual({ count: 1, lines: [12] });
    const malformed = s.rejected.filter((g) => g.kind === "malformed");
    expect(malformed.flatMap((g) => g.lines).sort((a, b) => a - b)).toEqual([7, 11]);
    expect(s.rejectedTotal).toBe(10);
    // The first M001 (line 2) is kept, not the later duplicates.
    expect(await rows(s, "member_id, name, points")).toEqual([
      { member_id: "M001", name: "王伟", points: 120 },
      { member_id: "M005", name: "陈静", points: 1 },
      { member_id: "M010", name: "周十", points: 1 },
    ]);
    expect(s.count).toBe(3);
    // Rejected rows are also a table the CLI can list.
    const rej = await s.conn.runAndReadAll(`SELECT line, kind FROM rejected ORDER BY line`);
    expect(rej.getRowsJS().map((r) => Number(r[0]))).toEqual([3, 4, 5, 6, 7, 8, 10, 11, 12, 13]);
    // One warning per reason, pointing at the first line.
    expect(diagnostics.every((d) => d.code === "CH6005" && d.severity === "warning")).toBe(true);
    const birthday = diagnostics.find((d) => d.message.includes("`birthday`"))!;
    expect(birthday.span.start.line).toBe(3);
    expect(hasErrors(diagnostics)).toBe(false);
  });

  it("with strict, the same problems are errors the caller fails on", async () => {
    const { snapshot, diagnostics } = await load(path.join(FIX, "rejects.csv"), { strict: true });
    expect(snapshot!.count).toBe(3);
    expect(diagnostics.length).toBeGreaterThan(0);
    expect(diagnostics.every((d) => d.severity === "error")).toBe(true);
    expect(hasErrors(diagnostics)).toBe(true);
  });

  it("a clean file under strict has no diagnostics", async () => {
    const { diagnostics } = await load(path.join(FIX, "members.csv"), { strict: true });
    expect(diagnostics).toEqual([]);
  });

  it("line numbers stay right when malformed lines precede the rejected row", async () => {
    const file = path.join(tmp, "shifted.csv");
    writeFileSync(file, ["member_id,points", "A,1", "B,2,3", "C,3,4,5", "D,x", "E,5"].join("\n") + "\n");
    const { snapshot } = await openSnapshot(file, projectOf(schemaOf({ member_id: { kind: "string" }, points: { kind: "number" } })));
    open.push(snapshot!);
    expect(snapshot!.rejected.find((g) => g.kind === "bad_value")!.lines).toEqual([5]);
    expect(snapshot!.count).toBe(2);
  });
});

describe("openSnapshot: duplicate keys", () => {
  // Keys that map to distinct numbers are proven unique by a bitmap; any other keys take the hash count. Either
  // way, with the check at load or deferred to the caller, exactly the later rows of each repeated key are rejected.
  it("rejects exactly the later rows of each repeated key, whatever the order of the keys, text or number", async () => {
    const fc = (await import("fast-check")).default;
    const order = fc.constantFrom("ascending", "descending", "as drawn");
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 25 }),
        order,
        fc.constantFrom("M", "mixed", "number", "negative", "wide"),
        fc.boolean(),
        async (ids, how, kind, defer) => {
          const text = kind === "M" || kind === "mixed";
          const keys = how === "as drawn" ? ids : [...ids].sort((a, b) => (how === "ascending" ? a - b : b - a));
          const file = path.join(tmp, `keys-${n++}.csv`);
          // Text keys M1 … M30: ascending by number is ascending by length first (M9 < M10), not as strings. Mixed
          // keys span scripts and planes, where UTF-8 and UTF-16 order differ (U+E000 against a surrogate pair).
          const MIXED = ["a", "Z", "é", "汉", "汉汉", "\uE000", "\uFFFD", "😀", "𠀋", "M9", "M10"];
          // Number keys: small, negative (below the first bitmap's range) and far apart (too wide for any bitmap).
          const keyOf = (k: number) =>
            kind === "M"
              ? `M${k}`
              : kind === "mixed"
                ? MIXED[k % MIXED.length]! + (k >= MIXED.length ? String(k) : "")
                : String(kind === "negative" ? -k : kind === "wide" ? k * 100000007 : k);
          writeFileSync(file, "member_id,points\n" + keys.map((k, i) => `${keyOf(k)},${i}`).join("\n") + "\n");
          const schema = schemaOf({ member_id: text ? { kind: "string" } : { kind: "number" }, points: { kind: "number" } });
          const { snapshot } = await openSnapshot(file, projectOf(schema), { deferKeyCheck: defer });
          const s = snapshot!;
          try {
            if (s.keyCheck && !(await s.keyCheck.run())) await s.keyCheck.repair();
            const expected = new Set<number>();
            const later: number[] = [];
            keys.forEach((k, i) => (expected.has(k) ? later.push(i + 2) : expected.add(k)));
            expect(s.count).toBe(expected.size);
            const dup = s.rejected.find((g) => g.kind === "duplicate_key");
            expect(dup?.count ?? 0).toBe(later.length);
            if (later.length) expect(dup!.lines).toEqual(later.slice(0, dup!.lines.length));
            // The first row of each key is the one kept.
            const kept = (await s.conn.runAndReadAll(`SELECT points FROM members ORDER BY points`)).getRowsJS().map((r) => Number(r[0]));
            expect(kept).toEqual(keys.flatMap((k, i) => (keys.indexOf(k) === i ? [i] : [])));
          } finally {
            await s.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("openSnapshot: files it cannot read", () => {
  it("returns a diagnostic (no throw) for a missing file, an unknown extension and a file without the key column", async () => {
    const missing = await openSnapshot(path.join(tmp, "nope.csv"), project);
    expect(missing.snapshot).toBeUndefined();
    expect(missing.diagnostics.map((d) => d.code)).toEqual(["CH6001"]);
    const xlsx = path.join(tmp, "members.xlsx");
    writeFileSync(xlsx, "x");
    expect((await openSnapshot(xlsx, project)).diagnostics.map((d) => d.code)).toEqual(["CH6002"]);
    const nokey = path.join(tmp, "nokey.csv");
    writeFileSync(nokey, "id,tier\n1,gold\n");
    const r = await openSnapshot(nokey, project);
    expect(r.snapshot).toBeUndefined();
    expect(r.diagnostics.map((d) => d.code)).toEqual(["CH6003"]);
    expect(r.diagnostics[0]!.help).toContain("id, tier");
  });

  it("an empty snapshot warns", async () => {
    const file = path.join(tmp, "empty.csv");
    copyFileSync(path.join(FIX, "members.csv"), file);
    writeFileSync(file, readFileSync(file, "utf8").split("\n")[0] + "\n");
    const { snapshot, diagnostics } = await load(file);
    expect(snapshot!.count).toBe(0);
    expect(diagnostics.map((d) => d.code)).toContain("CH6007");
  });
});

describe("openSnapshot: the strict first read of a CSV file", () => {
  // Cells a CSV export may hold for numbers, dates and date-times: plain, unusual but readable, blank, broken.
  const NUMBER = ["12", "1.5", " 7", "8 ", "+1", "-0", "1e3", ".5", "5.", "00012", "1_000", "inf", "NaN", "", "  ", "1,234", "abc", "0x10", "1.2.3", "１２"];
  const DATE = [
    "2024-01-05",
    "2024-1-5",
    "2024/01/05",
    " 2024-01-05",
    "2024-01-05 ",
    "2024-01-05 10:00",
    "2024-01-05T00:00:00",
    "2024-02-29",
    "",
    "  ",
    "2024-02-30",
    "20240105",
    "5/1/2024",
    "infinity",
  ];
  const DATETIME = [
    "2024-01-05 10:00",
    "2024-01-05 10:00:00",
    "2024-01-05T10:00:00",
    "2024-01-05",
    "2024-1-5 1:2:3",
    " 2024-01-05 10:00",
    "2024-01-05 10:00:00+08",
    "2024-01-05 24:00:00",
    "",
    "2024-01-05 10",
    "2024-01-05 25:00",
    "2024-01-05 10:00 ",
  ];
  const BOOL = ["true", "FALSE", "1", "0", "yes", "是", "否", "t", "", " true"];
  const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

  it("loads every file exactly as the tolerant read does: same members, same values, same rejected lines", async () => {
    const fc = (await import("fast-check")).default;
    const cell = (pool: string[]) => fc.constantFrom(...pool);
    // Half the files draw only readable cells (the strict read succeeds), half may hold broken ones (it falls back).
    const row = (clean: boolean) =>
      fc.tuple(
        cell(clean ? NUMBER.slice(0, 13) : NUMBER),
        cell(clean ? DATE.slice(0, 8) : DATE),
        cell(clean ? DATETIME.slice(0, 8) : DATETIME),
        cell(BOOL),
        fc.constantFrom("gold", "silver", "nope", ""),
      );
    const file = fc.boolean().chain((clean) => fc.array(row(clean), { minLength: 1, maxLength: 12 }));
    let n = 0;
    const reads = new Set<string>();
    await fc.assert(
      fc.asyncProperty(file, async (cells) => {
        const f = path.join(tmp, `strict-${n++}.csv`);
        const lines = cells.map(([p, b, l, s, t], i) => [`M${i % 9}`, csvCell(p), csvCell(b), csvCell(l), csvCell(s), t].join(","));
        writeFileSync(f, `member_id,points,birthday,last_purchase_at,sms_opt_in,tier\n${lines.join("\n")}\n`);
        const a = (await openSnapshot(f, project)).snapshot!;
        const b = (await openSnapshot(f, project, { tolerantOnly: true })).snapshot!;
        const cols = `member_id, points, strftime(birthday, '%Y-%m-%d') AS birthday, strftime(last_purchase_at, '%Y-%m-%d %H:%M:%S.%f') AS last_purchase_at, sms_opt_in, tier`;
        try {
          expect(await rows(a, cols)).toEqual(await rows(b, cols));
          expect(a.rejected).toEqual(b.rejected);
          expect(a.count).toBe(b.count);
          expect(b.csvRead).toBe("tolerant");
          reads.add(a.csvRead!);
        } finally {
          await a.close();
          await b.close();
        }
      }),
      { numRuns: 40, seed: 20261130 },
    );
    // Both ways were exercised: clean files read strictly, broken ones again tolerantly.
    expect([...reads].sort()).toEqual(["strict", "tolerant"]);
  });
});

describe("openSnapshot: presence-only fields", () => {
  it("keeps absent, empty and present apart, and only that, for a text field read for its presence", async () => {
    const f = path.join(tmp, "presence.csv");
    writeFileSync(f, `member_id,mobile,name\nA,13800000001,甲\nB,,乙\nC,"",丙\nD," ",丁\nE,+86 138,戊\n`);
    const whole = (await load(f)).snapshot!;
    const mark = (await load(f, { presenceOnly: ["mobile", "member_id"] })).snapshot!;
    const reach = `member_id, name, mobile IS NOT NULL AND CAST(mobile AS VARCHAR) <> '' AS reachable, mobile IS NULL AS absent`;
    expect(await rows(mark, reach)).toEqual(await rows(whole, reach));
    expect((await rows(mark, "mobile")).map((r) => r.mobile)).toEqual(["+", null, (await rows(whole, "mobile"))[2]!.mobile === "" ? "" : null, "+", "+"]);
    // The member key is never reduced to a mark, whatever the caller asks.
    expect((await rows(mark, "member_id")).map((r) => r.member_id)).toEqual(["A", "B", "C", "D", "E"]);
  });
});

describe("openSnapshot: the path is read as written", () => {
  it("never as a DuckDB glob, in CSV and JSON Lines; a pattern naming no file says patterns are not expanded", async () => {
    const dir = mkdtempSync(path.join(tmp, "glob-"));
    for (const [name, id] of [
      ["m1", "WRONG"],
      ["m[1]", "RIGHT"],
      ["mx", "WRONG2"],
    ] as const) {
      writeFileSync(path.join(dir, `${name}.csv`), `member_id\n${id}\n`);
      writeFileSync(path.join(dir, `${name}.jsonl`), `{"member_id":"${id}"}\n`);
    }
    writeFileSync(path.join(dir, "m*.csv"), "member_id\nSTAR\n");
    for (const ext of ["csv", "jsonl"]) {
      const r = await load(path.join(dir, `m[1].${ext}`));
      expect(
        (await rows(r.snapshot!, "member_id")).map((x) => x.member_id),
        ext,
      ).toEqual(["RIGHT"]);
    }
    const star = await load(path.join(dir, "m*.csv"));
    expect((await rows(star.snapshot!, "member_id")).map((x) => x.member_id)).toEqual(["STAR"]);
    const none = await load(path.join(dir, "q?.csv"));
    expect(none.snapshot).toBeUndefined();
    expect(none.diagnostics[0]!.message).toMatch(/not expanded/);
  });
});

describe("openSnapshot: date-times with a UTC offset", () => {
  // A date-time written with an offset is an instant: it is stored as the wall-clock time of the project's zone
  // then (DuckDB's ICU zones, built in: this runs offline), with the zone's real history. One without is local time.
  const zoned = (tz: string) => {
    const p = projectOf(schemaOf({ member_id: { kind: "string" }, seen_at: { kind: "datetime" }, day: { kind: "date" } }));
    return { ...p, timezone: tz };
  };
  const AT = `member_id, strftime(seen_at, '%Y-%m-%d %H:%M:%S.%f') AS seen_at, strftime(day, '%Y-%m-%d') AS day`;
  const micro = (s: string) => (s.length === 19 ? `${s}.000000` : s);

  async function loadAll(file: string, tz: string) {
    const ways = [{}, { tolerantOnly: true }] as const;
    const out = [];
    for (const how of ways) {
      const { snapshot, diagnostics } = await openSnapshot(file, zoned(tz), how);
      open.push(snapshot!);
      out.push({ rows: await rows(snapshot!, AT), rejected: snapshot!.rejected, diagnostics });
    }
    // The strict first read and the tolerant one agree.
    expect(out[1]).toEqual(out[0]);
    return out[0]!;
  }

  it("converts Z, z, UTC and ±offsets (with or without a colon or a space) to Asia/Shanghai time; local values stay", async () => {
    const cells: [string, string][] = [
      ["2023-12-31T16:30:00Z", "2024-01-01 00:30:00"], // the date moves forward across midnight
      ["2023-12-31T16:30:00.250z", "2024-01-01 00:30:00.250000"],
      ["2023-12-31 16:30 Z", "2024-01-01 00:30:00"],
      ["2023-12-31 16:30:00 UTC", "2024-01-01 00:30:00"],
      ["2024-01-01 00:30:00 +0800", "2024-01-01 00:30:00"],
      ["2024-01-01 00:30:00+08", "2024-01-01 00:30:00"],
      ["2024-01-01T00:30:00+08:00", "2024-01-01 00:30:00"],
      ["2024-01-01T00:30:00-08:00", "2024-01-01 16:30:00"],
      ["2024-01-01 10:00-05:30", "2024-01-01 23:30:00"],
      ["2024-03-01T01:00:00+10:00", "2024-02-29 23:00:00"], // back across midnight, into a leap day
      ["2024-01-01 00:30:00", "2024-01-01 00:30:00"], // no offset: local time as written
      ["2024-01-01T00:30", "2024-01-01 00:30:00"],
      ["1988-06-01T00:00:00Z", "1988-06-01 09:00:00"], // Shanghai kept daylight saving time in 1986–1991 (UTC+9)
      ["1988-01-01T00:00:00Z", "1988-01-01 08:00:00"],
      ["1991-09-14T16:30:00Z", "1991-09-15 01:30:00"], // its end: 01:30 twice, +09…
      ["1991-09-14T17:30:00Z", "1991-09-15 01:30:00"], // …and +08
    ];
    const file = path.join(tmp, "zoned.csv");
    writeFileSync(file, "member_id,seen_at,day\n" + cells.map(([c], i) => `M${String(i).padStart(2, "0")},${c},${c}`).join("\n") + "\n");
    const { rows: got, rejected } = await loadAll(file, "Asia/Shanghai");
    expect(rejected).toEqual([]);
    expect(got).toEqual(cells.map(([, at], i) => ({ member_id: `M${String(i).padStart(2, "0")}`, seen_at: micro(at), day: at.slice(0, 10) })));
  });

  it("uses Europe/Berlin's daylight saving time; a local time is never shifted, even one the clocks skipped", async () => {
    const cells: [string, string][] = [
      ["2024-01-15T12:00:00Z", "2024-01-15 13:00:00"], // CET, UTC+1
      ["2024-07-01T12:00:00Z", "2024-07-01 14:00:00"], // CEST, UTC+2
      ["2024-03-31T00:30:00Z", "2024-03-31 01:30:00"], // before the spring change at 01:00 UTC
      ["2024-03-31T01:30:00Z", "2024-03-31 03:30:00"], // after it
      ["2024-10-27T00:30:00Z", "2024-10-27 02:30:00"], // 02:30 twice in the autumn: first CEST…
      ["2024-10-27T01:30:00Z", "2024-10-27 02:30:00"], // …then CET
      ["2024-07-01 14:00:00+02:00", "2024-07-01 14:00:00"],
      ["2024-07-01 09:00:00-04:00", "2024-07-01 15:00:00"],
      ["2024-03-31 02:30:00", "2024-03-31 02:30:00"], // no offset: kept as written
    ];
    const file = path.join(tmp, "berlin.csv");
    writeFileSync(file, "member_id,seen_at,day\n" + cells.map(([c], i) => `M${i},${c},${c}`).join("\n") + "\n");
    const { rows: got, rejected } = await loadAll(file, "Europe/Berlin");
    expect(rejected).toEqual([]);
    expect(got.map((r) => r.seen_at)).toEqual(cells.map(([, at]) => micro(at)));
  });

  it("rejects a value whose offset it cannot read (out of range, a zone name, trailing text) as not a date-time", async () => {
    const bad = ["2024-01-01 00:30:00+25:00", "2024-01-01 00:30:00+08:75", "2024-01-01 00:30:00 Asia/Shanghai", "2024-01-01 00:30:00+0800 x", "2024-01-01Z"];
    const file = path.join(tmp, "zoned-bad.csv");
    writeFileSync(file, "member_id,seen_at\nOK,2024-01-01 00:30:00+08:00\n" + bad.map((c, i) => `B${i},${c}`).join("\n") + "\n");
    const { snapshot, diagnostics } = await openSnapshot(file, zoned("Asia/Shanghai"));
    open.push(snapshot!);
    expect(snapshot!.count).toBe(1);
    expect(snapshot!.rejected).toEqual([
      { kind: "bad_value", field: "seen_at", reason: expect.stringContaining("`seen_at` is not a date-time") as string, count: 5, lines: [3, 4, 5, 6, 7] },
    ]);
    expect(diagnostics.map((d) => d.code)).toEqual(["CH6004", "CH6005"]); // `day` is missing; the rejected rows
  });

  it("reads offsets the same way from JSON Lines, and converts Parquet TIMESTAMPTZ columns to the project's zone", async () => {
    const jsonl = path.join(tmp, "zoned.jsonl");
    writeFileSync(
      jsonl,
      `{"member_id":"A","seen_at":"2023-12-31T16:30:00Z","day":"2023-12-31T16:30:00Z"}\n{"member_id":"B","seen_at":"2024-01-01 00:30:00","day":"2024-01-01"}\n`,
    );
    const j = (await openSnapshot(jsonl, zoned("Asia/Shanghai"))).snapshot!;
    open.push(j);
    expect(await rows(j, AT)).toEqual([
      { member_id: "A", seen_at: "2024-01-01 00:30:00.000000", day: "2024-01-01" },
      { member_id: "B", seen_at: "2024-01-01 00:30:00.000000", day: "2024-01-01" },
    ]);
    const parquet = path.join(tmp, "zoned.parquet");
    await j.conn.run(
      `COPY (SELECT 'A' AS member_id, TIMESTAMPTZ '2023-12-31 16:30:00+00' AS seen_at, TIMESTAMPTZ '2023-12-31 16:30:00+00' AS day) TO '${parquet}' (FORMAT parquet)`,
    );
    for (const [tz, at] of [
      ["Asia/Shanghai", "2024-01-01 00:30:00.000000"],
      ["Europe/Berlin", "2023-12-31 17:30:00.000000"],
    ] as const) {
      const p = (await openSnapshot(parquet, zoned(tz))).snapshot!;
      open.push(p);
      expect(await rows(p, AT)).toEqual([{ member_id: "A", seen_at: at, day: at.slice(0, 10) }]);
    }
  });

  it("agrees with the JavaScript time zones for any instant, zone and way of writing the offset", async () => {
    const fc = (await import("fast-check")).default;
    const ZONES = ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"];
    const local = (ms: number, tz: string) => {
      const f = new Intl.DateTimeFormat("en-CA", {
        timeZone: tz,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
      });
      const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
      return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
    };
    const two = (n: number) => String(n).padStart(2, "0");
    // The instant written with an offset of `off` minutes, in one of the accepted forms.
    const written = (ms: number, off: number, form: number) => {
      const wall = new Date(ms + off * 60_000).toISOString().slice(0, 19);
      const sign = off < 0 ? "-" : "+";
      const [h, m] = [two(Math.floor(Math.abs(off) / 60)), two(Math.abs(off) % 60)];
      if (off === 0 && form % 2 === 0) return `${wall}Z`;
      return [`${wall}${sign}${h}:${m}`, `${wall.replace("T", " ")} ${sign}${h}${m}`, `${wall}${sign}${h}${m}`, `${wall.replace("T", " ")}${sign}${h}:${m}`][
        form % 4
      ]!;
    };
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ZONES),
        fc.array(
          fc.tuple(
            fc.integer({ min: Date.UTC(1970, 0, 1) / 1000, max: Date.UTC(2037, 11, 31) / 1000 }),
            fc.constantFrom(0, 480, -300, 330, 60, -600, 345),
            fc.nat(7),
          ),
          { minLength: 1, maxLength: 20 },
        ),
        async (tz, values) => {
          const file = path.join(tmp, `zoned-${n++}.csv`);
          writeFileSync(
            file,
            "member_id,seen_at\n" + values.map(([s, off, form], i) => `M${String(i).padStart(2, "0")},${written(s * 1000, off, form)}`).join("\n") + "\n",
          );
          const s = (await openSnapshot(file, zoned(tz))).snapshot!;
          try {
            expect(s.rejected).toEqual([]);
            const got = await s.conn.runAndReadAll(`SELECT strftime(seen_at, '%Y-%m-%d %H:%M:%S') FROM members ORDER BY member_id`);
            expect(got.getRowsJS().map((r) => r[0])).toEqual(values.map(([sec]) => local(sec * 1000, tz)));
          } finally {
            await s.close();
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe("zoneSql", () => {
  it("finds the range over which a zone keeps one offset (converted without ICU), and none for a zone with DST", async () => {
    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    try {
      const shanghai = await zoneSql(conn, "Asia/Shanghai");
      // +08:00 since daylight saving time ended (1991-09-14 17:00 UTC), from the first UTC midnight after that.
      expect(shanghai.tail?.offset).toBe(8n * 3600n * 1_000_000n);
      expect(shanghai.tail!.from).toBe(BigInt(Date.UTC(1991, 8, 15)) * 1000n);
      expect(shanghai.tail!.to).toBe(BigInt(Date.UTC(2099, 11, 31)) * 1000n);
      expect((await zoneSql(conn, "Europe/Berlin")).tail).toBeUndefined();
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });
});

describe("openSnapshot: line numbers of rows after multi-line cells, blank and malformed lines", () => {
  const tiers = projectOf(
    schemaOf({ member_id: { kind: "string" }, name: { kind: "string" }, tier: { kind: "enum", values: ["silver", "gold"] }, mobile: { kind: "phone" } }),
  );

  it("reports the line a row starts on when a quoted cell above it spans two lines", async () => {
    const file = path.join(tmp, "nl.csv");
    writeFileSync(file, ["member_id,name,tier,mobile", 'A1,"two', 'lines",gold,13800000000', "A2,x,bogus,13800000001"].join("\n") + "\n");
    const { snapshot, diagnostics } = await openSnapshot(file, tiers, { label: "nl.csv" });
    open.push(snapshot!);
    expect(snapshot!.rejected.map((g) => [g.field, g.lines])).toEqual([["tier", [4]]]);
    expect(diagnostics[0]!.span.start.line).toBe(4);
    expect(diagnostics[0]!.help).toContain("first at line(s) 4");
    // A database's rows are numbered by record (the query's result row), as before.
    const db = (await openSnapshot(file, tiers, { recordNumbers: true })).snapshot!;
    open.push(db);
    expect(db.rejected.map((g) => g.lines)).toEqual([[2]]);
  });

  type Row = { kind: "ok" | "bad" | "dup" | "nokey" | "malformed"; name: string[] } | { kind: "blank" };
  // Pieces of a name; a name of several pieces is one quoted cell over several lines.
  const piece = ["王伟", "a, b", 'say ""hi""', "x", " ", ""];

  it("gives the physical line of every rejected row, whatever the line ends, multi-line cells, blank lines, malformed lines and encoding", async () => {
    const fc = (await import("fast-check")).default;
    const name = fc.array(fc.constantFrom(...piece), { minLength: 1, maxLength: 3 });
    const row: import("fast-check").Arbitrary<Row> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant("ok" as const), name }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom("bad" as const, "dup" as const, "nokey" as const), name }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("malformed" as const), name }) },
      { weight: 1, arbitrary: fc.constant({ kind: "blank" as const }) },
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { minLength: 1, maxLength: 14 }),
        fc.constantFrom("\n", "\r\n"),
        fc.constantFrom("\n", "\r\n"),
        fc.constantFrom("utf-8", "gbk"),
        fc.boolean(),
        fc.boolean(),
        async (rows_, eol, inCell, encoding, tolerantOnly, deferKeyCheck) => {
          let text = "member_id,name,tier,mobile" + eol;
          const expected: [number, string][] = [];
          const keys: string[] = [];
          rows_.forEach((r, i) => {
            const line = text.split("\n").length; // the line this row starts on
            if (r.kind === "blank") {
              text += eol;
              return;
            }
            const cell = r.name.join(inCell);
            const quoted = r.name.length > 1 || /[",]/.test(cell) ? `"${cell}"` : cell;
            const dup = r.kind === "dup" && keys.length > 0; // a later row of the first key (none yet: a first row)
            const key = r.kind === "nokey" ? "" : dup ? keys[0]! : `K${i}`;
            if (r.kind === "ok" || (r.kind === "dup" && !dup)) keys.push(key);
            const tier = r.kind === "bad" ? "bogus" : "gold";
            text += [key, quoted, tier, "13800000000"].join(",") + (r.kind === "malformed" ? ",extra" : "") + eol;
            const kinds: Record<string, string> = { bad: "bad_value", nokey: "missing_key", malformed: "malformed" };
            const kind = dup ? "duplicate_key" : kinds[r.kind];
            if (kind) expected.push([line, kind]);
          });
          const file = path.join(tmp, `lines-${n++}.csv`);
          writeFileSync(file, encoding === "gbk" ? iconv.encode(text, "gbk") : text);
          const { snapshot } = await openSnapshot(file, tiers, { tolerantOnly, deferKeyCheck });
          const s = snapshot!;
          try {
            // Duplicate keys found later (the caller's check while DuckDB is idle) are located the same way.
            if (s.keyCheck && !(await s.keyCheck.run())) await s.keyCheck.repair();
            const diagnostics = s.diagnostics;
            expect(s.encoding).toBe(encoding === "gbk" && /[^\x00-\x7f]/.test(text) ? "gbk" : "utf-8");
            const got = (await s.conn.runAndReadAll(`SELECT line, kind FROM rejected ORDER BY line`)).getRowsJS().map((r) => [Number(r[0]), r[1]]);
            expect(got).toEqual(expected);
            for (const g of s.rejected)
              expect(g.lines).toEqual(
                expected
                  .filter(([, k]) => k === g.kind)
                  .map(([l]) => l)
                  .slice(0, 5),
              );
            const first = Math.min(...expected.map(([l]) => l));
            if (expected.length) expect(Math.min(...diagnostics.filter((d) => d.code === "CH6005").map((d) => d.span.start.line))).toBe(first);
          } finally {
            await s.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("fileLines", () => {
  /** The same rules, a byte at a time: the reference for reading in chunks. */
  function reference(bytes: Buffer, oneColumn: boolean) {
    const breaks: [number, number][] = [[1, 0]];
    const blanks: number[] = [];
    let i = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    const lo = i;
    const firstCr = bytes.indexOf(13, i);
    const firstLf = bytes.indexOf(10, i);
    const nl = firstCr >= 0 && (firstLf < 0 || firstCr < firstLf) && firstCr + 1 < bytes.length && bytes[firstCr + 1] !== 10 ? 13 : 10;
    let rec = 1;
    let line = 1;
    let delta = 0;
    let start = i;
    let quoted = false;
    for (; i < bytes.length; i++) {
      const c = bytes[i];
      if (quoted) {
        if (c === 34) {
          if (bytes[i + 1] === 34) i++;
          else quoted = false;
        } else if (c === nl) line++;
        continue;
      }
      if (c === 34) {
        let k = i - 1;
        while (k >= lo && bytes[k] === 32) k--;
        if (k < lo || bytes[k] === 44 || bytes[k] === nl) quoted = true;
      } else if (c === nl) {
        const blank = i === start || (nl === 10 && i === start + 1 && bytes[start] === 13);
        if (rec > 1 && blank && !oneColumn) blanks.push(rec);
        rec++;
        line++;
        start = i + 1;
        if (line - rec !== delta) breaks.push([rec, (delta = line - rec)]);
      }
    }
    return { breaks, blanks };
  }

  it("reads in chunks of any size exactly as a byte at a time", async () => {
    const fc = (await import("fast-check")).default;
    const text = fc.array(fc.constantFrom("a", ",", '"', '""', "\n", "\r\n", "\r", " ", "中", "\uFEFF"), { maxLength: 60 });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(text, fc.boolean(), fc.boolean(), fc.integer({ min: 1, max: 9 }), async (parts, bom, oneColumn, chunk) => {
        const bytes = Buffer.from((bom ? "\uFEFF" : "") + parts.join(""), "utf8");
        const file = path.join(tmp, `chunks-${n++}.csv`);
        writeFileSync(file, bytes);
        const all = { rec: Number.MAX_SAFE_INTEGER, rows: 0 };
        expect(await fileLines(file, all, oneColumn, chunk)).toEqual(reference(bytes, oneColumn));
        expect(await fileLines(file, all, oneColumn)).toEqual(reference(bytes, oneColumn));
      }),
      { numRuns: 300 },
    );
  });

  it("stops after the records it was asked for", async () => {
    const file = path.join(tmp, "stop.csv");
    writeFileSync(file, 'h\n"a\nb"\nc\n"d\ne"\nf\n');
    expect(await fileLines(file, { rec: 2, rows: 0 }, false)).toEqual({
      breaks: [
        [1, 0],
        [3, 1],
      ],
      blanks: [],
    });
    expect((await fileLines(file, { rec: 0, rows: 4 }, false)).breaks).toEqual([
      [1, 0],
      [3, 1],
      [5, 2],
    ]);
  });
});

describe("openSnapshot: line numbers around odd quoting", () => {
  it("follows DuckDB's reading of quotes: only at a value's start (after spaces), `\"\"` inside, an unclosed one to the end", async () => {
    const tiers = projectOf(schemaOf({ member_id: { kind: "string" }, name: { kind: "string" }, tier: { kind: "enum", values: ["gold"] } }));
    const lines = [
      "member_id,name,tier", // 1
      'A1,ab"c,gold', // 2: a quote inside a value is a character
      'A2, "e', // 3: quoted after a space, over two lines
      'f",gold',
      'A3,"q"x,gold', // 5: malformed (text after the closing quote)
      "A4,x,bogus", // 6
      "", // 7: blank, not a row
      "   ", // 8: malformed (one column)
      'A5,"a""b', // 9: an escaped quote, then a line break
      'c",bogus',
      "A6,x,bogus", // 11
      'A7,"open,gold', // 12: malformed; the quote is never closed, so the rest is its value
      "A8,x,bogus",
    ];
    const file = path.join(tmp, "quotes.csv");
    writeFileSync(file, lines.join("\r\n") + "\r\n");
    for (const tolerantOnly of [false, true]) {
      const s = (await openSnapshot(file, tiers, { tolerantOnly })).snapshot!;
      open.push(s);
      const got = (await s.conn.runAndReadAll(`SELECT line, kind FROM rejected ORDER BY line`)).getRowsJS().map((r) => [Number(r[0]), r[1]]);
      expect(got).toEqual([
        [5, "malformed"],
        [6, "bad_value"],
        [8, "malformed"],
        [9, "bad_value"],
        [11, "bad_value"],
        [12, "malformed"],
      ]);
      expect((await rows(s, "member_id")).map((r) => r.member_id)).toEqual(["A1", "A2"]);
    }
  });
});
