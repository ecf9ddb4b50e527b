/**
 * `simulate` reuses the loaded snapshot from `.chuda/cache` (keyed by the file's path, size, modification time
 * and the member schema), `--no-cache` parses the file again, and a changed file is parsed again. Campaigns'
 * candidates are kept beside the entry and taken again only while their query, occurrences and the suppressions
 * are the same.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { DuckDBInstance } from "@duckdb/node-api";
import path from "node:path";
import { chuda, copyExampleRepo } from "./cli.js";

let dir: string;
let members: string;
const cacheDir = () => path.join(dir, ".chuda", "cache");
const entries = () =>
  existsSync(cacheDir())
    ? readdirSync(cacheDir())
        .filter((n) => n.endsWith(".json"))
        .sort()
    : [];
const simulate = (...extra: string[]) =>
  chuda(["simulate", "--members", members, "--from", "2026-12-01", "--to", "2026-12-30", "--json", ...extra], { cwd: dir });

beforeAll(async () => {
  dir = copyExampleRepo();
  members = path.join(dir, "members.csv");
  const g = await chuda(["sample-members", "--count", "3000", "--seed", "23", "--out", members], { cwd: dir });
  expect(g.exitCode, g.stderr).toBe(0);
});

describe("chuda simulate with the snapshot cache (built CLI)", () => {
  it("caches the loaded snapshot and reuses it until the file or the schema changes", async () => {
    // A whole second, so that putting the time back below is exact.
    const mtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
    utimesSync(members, mtime, mtime);
    const first = await simulate();
    expect(first.exitCode, first.stderr).toBe(0);
    expect(entries()).toHaveLength(1);
    const second = await simulate();
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(entries()).toHaveLength(1);

    // The cache trusts path, size and modification time (it never re-reads the file to compare): a file
    // rewritten to the same size with its old time put back is served from the cache, and `--no-cache` reads
    // the new rows. This is what proves the second run above did not parse the file.
    const text = readFileSync(members, "utf8");
    const altered = text.replace(/-12-/g, "-11-");
    expect(altered.length).toBe(text.length);
    writeFileSync(members, altered);
    utimesSync(members, mtime, mtime);
    const stale = await simulate();
    expect(stale.stdout).toBe(first.stdout);
    const fresh = await simulate("--no-cache");
    expect(fresh.exitCode, fresh.stderr).toBe(0);
    expect(fresh.stdout).not.toBe(first.stdout);
    expect(entries()).toHaveLength(1);

    // A new modification time is a new entry, and the new rows are read.
    const later = new Date(mtime.getTime() + 60_000);
    utimesSync(members, later, later);
    const touched = await simulate();
    expect(touched.stdout).toBe(fresh.stdout);
    expect(entries()).toHaveLength(2);

    // A schema change in chuda.yaml is a new entry too.
    const yaml = path.join(dir, "chuda.yaml");
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace(/\n(\s+)points:\s*number/, "\n$1points: number\n$1nickname: string"));
    const reschema = await simulate();
    expect(reschema.exitCode, reschema.stderr).toBe(0);
    expect(entries()).toHaveLength(3);
  });

  it("CHUDA_CACHE_MAX_MB=0 keeps no entry beyond the one just written", async () => {
    const again = await chuda(["simulate", "--members", members, "--from", "2026-12-01", "--to", "2026-12-02", "--json", "--no-cache"], { cwd: dir });
    expect(again.exitCode).toBe(0);
    const before = entries().length;
    expect(before).toBeGreaterThan(0);
    const other = path.join(dir, "members-2.csv");
    writeFileSync(other, readFileSync(members));
    const r = await chuda(["simulate", "--members", other, "--from", "2026-12-01", "--to", "2026-12-02", "--json"], {
      cwd: dir,
      env: { CHUDA_CACHE_MAX_MB: "0" },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(entries()).toHaveLength(1);
  });

  it("keeps each campaign's candidates with the cached snapshot and selects a changed campaign again", async () => {
    const repo = copyExampleRepo();
    const file = path.join(repo, "members.csv");
    writeFileSync(file, readFileSync(members));
    const sim = (...extra: string[]) => chuda(["simulate", "--members", file, "--from", "2026-12-01", "--to", "2026-12-30", "--json", ...extra], { cwd: repo });
    const same = async (label: string) => {
      const cached = await sim();
      const parsed = await sim("--no-cache");
      expect(cached.exitCode, cached.stderr).toBe(0);
      expect(cached.stdout, label).toBe(parsed.stdout);
      return cached.stdout;
    };
    // The sample has rejected rows, so the parsed table is numbered with gaps: the candidates are kept from the first
    // run read from the cache on, and taken by the next.
    const filled = await same("first run");
    expect(await same("second run, candidates kept")).toBe(filled);
    const kept = readdirSync(path.join(repo, ".chuda", "cache")).find((n) => n.endsWith(".candidates.duckdb"));
    expect(kept).toBeDefined();
    expect(await same("third run, candidates taken")).toBe(filled);

    // What the candidates depend on: a segment, a campaign's audience, the window, the suppressions.
    const segments = path.join(repo, "campaigns", "segments.chuda");
    writeFileSync(segments, readFileSync(segments, "utf8").replace("segment nearby    = within 5 km", "segment nearby    = within 2 km"));
    const nearer = await same("segment edited");
    expect(nearer).not.toBe(filled);
    const weekly = path.join(repo, "campaigns", "weekly.chuda");
    writeFileSync(weekly, readFileSync(weekly, "utf8").replace("audience family and nearby", "audience nearby"));
    expect(await same("audience edited")).not.toBe(nearer);
    const shorter = await chuda(["simulate", "--members", file, "--from", "2026-12-01", "--to", "2026-12-09", "--json"], { cwd: repo });
    const shorterParsed = await chuda(["simulate", "--members", file, "--from", "2026-12-01", "--to", "2026-12-09", "--json", "--no-cache"], { cwd: repo });
    expect(shorter.stdout).toBe(shorterParsed.stdout);
    const before = await same("before a suppression");
    const member = /^([^,\n]+),/m.exec(readFileSync(file, "utf8").split("\n")[1]!)![1]!;
    const add = await chuda(["suppress", "add", member, "--reason", "complaint", "--by", "test"], { cwd: repo });
    expect(add.exitCode, add.stderr).toBe(0);
    const suppressed = await same("member suppressed");
    expect(suppressed).not.toBe(before);

    // And they are really taken: emptied in the file, the next cached run plans from them (no sends), while
    // --no-cache selects again. Removing the file removes the kept candidates, nothing else.
    const db = await DuckDBInstance.create(path.join(repo, ".chuda", "cache", kept!));
    const conn = await db.connect();
    const tables = (await conn.runAndReadAll(`SELECT key FROM kept`)).getRows().map(([k]) => String(k));
    expect(tables.length).toBeGreaterThan(0);
    for (const t of tables) await conn.run(`DELETE FROM ${t}`);
    conn.closeSync();
    db.closeSync();
    const emptied = await sim();
    expect(emptied.exitCode, emptied.stderr).toBe(0);
    expect((JSON.parse(emptied.stdout) as { total: { sends: number } }).total.sends).toBeLessThan(
      (JSON.parse(suppressed) as { total: { sends: number } }).total.sends,
    );
    rmSync(path.join(repo, ".chuda", "cache", kept!));
    expect(await same("candidates file removed")).toBe(suppressed);
    rmSync(repo, { recursive: true, force: true });
  });
});
