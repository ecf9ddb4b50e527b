/**
 * Snapshot loading against real DuckDB: typed columns from UTF-8, UTF-8 with BOM, GBK, JSON Lines and
 * Parquet; rejected rows counted by reason with source line numbers; strict mode; missing columns.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import iconv from "iconv-lite";
import { openSnapshot, type Snapshot } from "./snapshot.js";
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

  it("matches column names case-insensitively", async () => {
    const file = path.join(tmp, "upper.csv");
    writeFileSync(file, "MEMBER_ID,Tier\nM1,Gold\n");
    const { snapshot } = await openSnapshot(file, projectOf(schemaOf({ member_id: { kind: "string" }, tier: { kind: "enum", values: ["silver", "gold"] } })));
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
