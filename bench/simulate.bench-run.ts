/**
 * `chuda simulate`, 10 campaigns × 30 days over generated snapshots of 1M and 10M members, against one full
 * DuckDB parse of the same file (target: at most 1.5×, peak memory under 4 GB). BENCH_SIZES=1000000 to choose.
 */
import { afterAll, it } from "vitest";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { figure, printFigures } from "./figures.js";

const REPO = path.resolve(import.meta.dirname, "..");
const BIN = path.join(REPO, "dist/cli/main.js");
const DATA = path.join(REPO, "bench/data");
const sizes = (process.env.BENCH_SIZES ?? "1000000,10000000").split(",").map(Number);
const CAMPAIGNS = [
  "birthday_gift",
  "new_member_welcome",
  "post_purchase_care",
  "wake_dormant_90",
  "wake_dormant_180",
  "community_wednesday",
  "double12_flash",
  "points_expiry_reminder",
  "tier_upgrade_care",
  "spring_festival",
];

/**
 * One full DuckDB parse of the file (CREATE TABLE AS SELECT * FROM read_csv), in a fresh process: with DuckDB's
 * default allocator settings (the yardstick), or with the ones chuda sets for itself (src/cli/allocator.ts),
 * which make the bare parse faster too; both are reported.
 */
async function duckdbParseSeconds(file: string, tuned = false): Promise<number> {
  const env: Record<string, string | undefined> = { ...process.env, DUCKDB_JE_MALLOC_CONF: tuned ? "dirty_decay_ms:-1,muzzy_decay_ms:-1" : "" };
  const r = await execa(process.execPath, [path.join(REPO, "bench/parse-once.mjs"), file], { cwd: REPO, env, extendEnv: false });
  return Number(r.stdout.trim());
}

for (const n of sizes) {
  it(`simulate over ${n.toLocaleString("en-US")} members`, async () => {
    mkdirSync(DATA, { recursive: true });
    const file = path.join(DATA, `members-${n}.csv`);
    if (!existsSync(file)) {
      const t0 = performance.now();
      // Written aside and renamed, so that an interrupted run never leaves a half file to be measured.
      await execa(process.execPath, [BIN, "sample-members", "--count", String(n), "--seed", "42", "--as-of", "2026-11-20", "--out", `${file}.part.csv`]);
      renameSync(`${file}.part.csv`, file);
      figure(
        `generate ${n.toLocaleString("en-US")} members`,
        `${((performance.now() - t0) / 1000).toFixed(1)} s`,
        `${(statSync(file).size / 1e6).toFixed(0)} MB`,
      );
    }
    // Parse and simulate alternate, BENCH_REPEAT times each (default 2), and the best of each is compared: on a
    // shared machine a single run of either can be slowed by a neighbour by a third or more.
    const repeat = Math.max(1, Number(process.env.BENCH_REPEAT ?? 2));
    const parses: number[] = [];
    const tunedParses: number[] = [];
    const sims: number[] = [];
    let out: { total: { sends: number } } | undefined;
    let rss: RegExpExecArray | null = null;
    let timing: RegExpExecArray | null = null;
    for (let i = 0; i < repeat; i++) {
      parses.push(await duckdbParseSeconds(file));
      tunedParses.push(await duckdbParseSeconds(file, true));
      const t0 = performance.now();
      // --no-cache: this is the cold run, parsing the file (the cached one is measured below).
      const r = await execa(
        process.execPath,
        [BIN, "simulate", "--members", file, "--from", "2026-12-01", "--to", "2026-12-30", "--json", "--no-cache", ...CAMPAIGNS],
        {
          cwd: REPO,
          env: { CI: "true", CHUDA_STATS: "1", CHUDA_TIMING: "1" },
          reject: false,
          maxBuffer: 1e9,
        },
      );
      sims.push((performance.now() - t0) / 1000);
      if (r.exitCode !== 0) throw new Error(`simulate failed: ${r.stderr}`);
      out = JSON.parse(r.stdout);
      const m = /chuda-stats (\{.*\})/.exec(r.stderr);
      if (m && (!rss || JSON.parse(m[1]!).maxRssMB > JSON.parse(rss[1]!).maxRssMB)) rss = m;
      if (sims[i] === Math.min(...sims)) timing = /chuda-timing (\{.*\})/.exec(r.stderr);
    }
    const parse = Math.min(...parses);
    const sim = Math.min(...sims);
    const runs = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(", ");
    const tuned = Math.min(...tunedParses);
    figure(`duckdb full parse, ${n.toLocaleString("en-US")}`, `${parse.toFixed(2)} s`, `best of ${runs(parses)}`);
    figure(`duckdb full parse with chuda's allocator settings, ${n.toLocaleString("en-US")}`, `${tuned.toFixed(2)} s`, `best of ${runs(tunedParses)}`);
    if (timing) figure(`simulate phases (ms), ${n.toLocaleString("en-US")}`, timing[1]!);
    figure(
      `simulate 10 campaigns × 30 days, ${n.toLocaleString("en-US")}`,
      `${sim.toFixed(2)} s`,
      `ratio ${(sim / parse).toFixed(2)}× parse (target ≤ 1.5×; ${(sim / tuned).toFixed(2)}× the parse with chuda's allocator settings), best of ${runs(sims)}; ${out!.total.sends.toLocaleString("en-US")} sends`,
    );
    if (rss) figure(`simulate peak memory, ${n.toLocaleString("en-US")}`, `${JSON.parse(rss[1]!).maxRssMB} MB`, "target < 4096 MB");

    // Re-simulation: in a copy of the repository, one simulate fills the snapshot cache; then one campaign is
    // edited and simulate runs again (target: at most 0.5× one full parse).
    const repo = mkdtempSync(path.join(os.tmpdir(), "chuda-bench-resim-"));
    for (const p of ["chuda.yaml", "campaigns", "templates"]) cpSync(path.join(REPO, p), path.join(repo, p), { recursive: true });
    const simulateIn = async () => {
      const t0 = performance.now();
      const r = await execa(process.execPath, [BIN, "simulate", "--members", file, "--from", "2026-12-01", "--to", "2026-12-30", "--json", ...CAMPAIGNS], {
        cwd: repo,
        env: { CI: "true", CHUDA_TIMING: "1" },
        reject: false,
        maxBuffer: 1e9,
      });
      if (r.exitCode !== 0) throw new Error(`simulate failed: ${r.stderr}`);
      return { seconds: (performance.now() - t0) / 1000, load: JSON.parse(/chuda-timing (\{.*\})/.exec(r.stderr)![1]!).load as number };
    };
    const filling = await simulateIn();
    const resims: { seconds: number; load: number }[] = [];
    for (let i = 0; i < repeat; i++) {
      const campaign = path.join(repo, "campaigns", "lifecycle", "birthday.chuda");
      writeFileSync(campaign, readFileSync(campaign, "utf8") + `\n# edited ${i}\n`);
      resims.push(await simulateIn());
    }
    rmSync(repo, { recursive: true, force: true });
    const resim = Math.min(...resims.map((r) => r.seconds));
    figure(`simulate, first run filling the snapshot cache, ${n.toLocaleString("en-US")}`, `${filling.seconds.toFixed(2)} s`, `load ${filling.load} ms`);
    figure(
      `re-simulate after editing one campaign (cached snapshot), ${n.toLocaleString("en-US")}`,
      `${resim.toFixed(2)} s`,
      `ratio ${(resim / parse).toFixed(2)}× parse (target ≤ 0.5×); load from cache ${Math.min(...resims.map((r) => r.load))} ms; best of ${runs(resims.map((r) => r.seconds))}`,
    );
  });
}

afterAll(printFigures);
