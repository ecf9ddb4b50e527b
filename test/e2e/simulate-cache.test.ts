/**
 * `simulate` reuses the loaded snapshot from `.chuda/cache` (keyed by the file's path, size, modification time
 * and the member schema), `--no-cache` parses the file again, and a changed file is parsed again.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
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
});
