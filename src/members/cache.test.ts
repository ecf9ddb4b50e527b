/**
 * The loaded-snapshot cache against real DuckDB: a second open reads the entry and gives the same table,
 * counts and diagnostics; any change to the file or the schema misses; incomplete or broken entries are
 * ignored; the folder is trimmed least recently used first.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync, appendFileSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { openSnapshot, type OpenSnapshotOptions, type Snapshot } from "./snapshot.js";
import { cacheKey, trimCache, type SnapshotCache } from "./cache.js";
import { FIXTURE_SCHEMA, projectOf, schemaOf } from "../../test/fixtures/members/project.js";

const FIX = path.resolve(__dirname, "../../test/fixtures/members");
const project = projectOf(FIXTURE_SCHEMA);
let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "chuda-cache-test-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function freshCache(name: string, maxBytes = 1024 ** 3): SnapshotCache {
  return { dir: path.join(tmp, name, ".chuda", "cache"), maxBytes };
}

async function contents(s: Snapshot): Promise<string> {
  const members = await s.conn.runAndReadAll(`SELECT * FROM members ORDER BY rowid`);
  const rejected = await s.conn.runAndReadAll(`SELECT * FROM rejected ORDER BY line, kind`);
  const types = await s.conn.runAndReadAll(`DESCRIBE members`);
  return JSON.stringify([members.getRowsJS(), rejected.getRowsJS(), types.getRowsJS()], (_k, v) => (typeof v === "bigint" ? String(v) : v));
}

/** Opens, reads everything, closes (which writes the entry when the cache is on). */
async function openRead(file: string, opts: OpenSnapshotOptions, p = project) {
  const r = await openSnapshot(file, p, opts);
  const s = r.snapshot!;
  expect(s, JSON.stringify(r.diagnostics)).toBeDefined();
  if (s.keyCheck && !(await s.keyCheck.run())) await s.keyCheck.repair();
  const seen = { cached: s.cached, count: s.count, rejectedTotal: s.rejectedTotal, rejected: s.rejected, diagnostics: s.diagnostics, body: await contents(s) };
  await s.close();
  return seen;
}

describe("snapshot cache", () => {
  for (const fixture of ["members.csv", "rejects.csv", "members.jsonl"]) {
    it(`a second open of ${fixture} reads the cached table, identical to parsing it`, async () => {
      const cache = freshCache(`cache-${fixture}`);
      const file = path.join(tmp, fixture);
      copyFileSync(path.join(FIX, fixture), file);
      const parsed = await openRead(file, { cache, label: fixture });
      expect(parsed.cached).toBe(false);
      expect(readdirSync(cache.dir).filter((n) => n.endsWith(".json"))).toHaveLength(1);
      const again = await openRead(file, { cache, label: fixture });
      expect(again.cached).toBe(true);
      expect(again).toEqual({ ...parsed, cached: true });
      const uncached = await openRead(file, { label: fixture });
      expect(uncached).toEqual(parsed);
    });
  }

  it("a deferred key check that finds duplicates caches the repaired table", async () => {
    const cache = freshCache("dups");
    const file = path.join(tmp, "dups.csv");
    copyFileSync(path.join(FIX, "members.csv"), file);
    const lines = (await import("node:fs")).readFileSync(file, "utf8").trimEnd().split("\n");
    appendFileSync(file, lines[1] + "\n");
    const parsed = await openRead(file, { cache, deferKeyCheck: true });
    expect(parsed.rejected.some((g) => g.kind === "duplicate_key")).toBe(true);
    const again = await openRead(file, { cache, deferKeyCheck: true });
    expect(again).toEqual({ ...parsed, cached: true });
  });

  it("a changed file, schema or presence-only list misses the entry", async () => {
    const cache = freshCache("changes");
    const file = path.join(tmp, "changes.csv");
    copyFileSync(path.join(FIX, "members.csv"), file);
    await openRead(file, { cache });
    const before = cacheKey({ file, label: file, project });

    // Same size, other content, other modification time: a new key, and the new rows are read.
    const text = (await import("node:fs")).readFileSync(file, "utf8").replace("王伟", "王五");
    writeFileSync(file, text);
    const later = new Date(statSync(file).mtimeMs + 5000);
    utimesSync(file, later, later);
    expect(cacheKey({ file, label: file, project })).not.toBe(before);
    const changed = await openRead(file, { cache });
    expect(changed.cached).toBe(false);
    expect(changed.body).toContain("王五");

    const other = projectOf(schemaOf({ ...Object.fromEntries(FIXTURE_SCHEMA.fields), points: { kind: "string" } }));
    expect(cacheKey({ file, label: file, project: other })).not.toBe(cacheKey({ file, label: file, project }));
    expect((await openRead(file, { cache }, other)).cached).toBe(false);
    expect((await openRead(file, { cache, presenceOnly: ["name"] })).cached).toBe(false);
    expect((await openRead(file, { cache, presenceOnly: ["name"] })).cached).toBe(true);
  });

  it("an incomplete entry (no summary) or a broken database file is ignored, and the file parsed", async () => {
    const cache = freshCache("broken");
    const file = path.join(tmp, "broken.csv");
    copyFileSync(path.join(FIX, "members.csv"), file);
    const parsed = await openRead(file, { cache });
    const key = cacheKey({ file, label: file, project });
    const db = path.join(cache.dir, `${key}.duckdb`);
    const meta = path.join(cache.dir, `${key}.json`);

    rmSync(meta);
    const noSummary = await openRead(file, { cache });
    expect(noSummary).toEqual(parsed);
    expect(existsSync(meta)).toBe(true);

    writeFileSync(db, "not a database");
    const broken = await openRead(file, { cache });
    expect(broken).toEqual(parsed);
  });

  it("trims the folder to its limit, least recently used first", async () => {
    const cache = freshCache("trim");
    const files = ["a", "b", "c"].map((n) => {
      const f = path.join(tmp, `trim-${n}.csv`);
      copyFileSync(path.join(FIX, "members.csv"), f);
      return f;
    });
    for (const f of files) await openRead(f, { cache });
    const keys = files.map((file) => cacheKey({ file, label: file, project }));
    // Make `a` the most recently used, `b` the least.
    const t = Date.now() / 1000;
    utimesSync(path.join(cache.dir, `${keys[0]}.json`), t, t);
    utimesSync(path.join(cache.dir, `${keys[1]}.json`), t - 100, t - 100);
    utimesSync(path.join(cache.dir, `${keys[2]}.json`), t - 50, t - 50);
    const entryBytes = statSync(path.join(cache.dir, `${keys[0]}.duckdb`)).size + statSync(path.join(cache.dir, `${keys[0]}.json`)).size;
    trimCache({ ...cache, maxBytes: 2 * entryBytes + 10 });
    const left = readdirSync(cache.dir);
    expect(left.some((n) => n.startsWith(keys[1]!))).toBe(false);
    expect(left.some((n) => n.startsWith(keys[0]!))).toBe(true);
    expect(left.some((n) => n.startsWith(keys[2]!))).toBe(true);
  });

  it("a cache folder that cannot be written costs the entry, not the run", async () => {
    const blocker = path.join(tmp, "blocked");
    writeFileSync(blocker, "a file where the folder would be");
    const file = path.join(tmp, "blocked.csv");
    copyFileSync(path.join(FIX, "members.csv"), file);
    const cache: SnapshotCache = { dir: path.join(blocker, "cache"), maxBytes: 1024 ** 3 };
    const first = await openRead(file, { cache });
    const second = await openRead(file, { cache });
    expect(second).toEqual(first);
    expect(second.cached).toBe(false);
  });

  it("no cache option: nothing is written", async () => {
    const dir = path.join(tmp, "none");
    const file = path.join(tmp, "none.csv");
    copyFileSync(path.join(FIX, "members.csv"), file);
    await openRead(file, {});
    expect(existsSync(dir)).toBe(false);
  });
});
