/**
 * `chuda dispatch` on a PostgreSQL ledger (a real server on loopback, durable commits: fsync and synchronous_commit
 * on) against the loopback Aliyun SMS fake, no provider limit:
 * 1. three workers, each in its own copy of the repository, started together on one ledger: sends per second of the
 *    three together over the whole command (first start to last exit). Goal: at least 20,000/s.
 * 2. one worker on PostgreSQL against the same run on SQLite (WAL, synchronous=FULL). Goal: within 1.5x.
 * BENCH_PG_MEMBERS members (default 100,000) due at one moment; BENCH_PG_PAIRS runs of each (default 5): the median is the figure.
 * With each figure, the CPU seconds the run took (Linux /proc): the dispatch processes, the database server, and this
 * process (the provider fake). On a machine whose cores the three share, their sum over the cores is the least wall
 * time any run could take.
 * Figures only; nothing here asserts on time.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { afterAll, beforeAll, expect, it } from "vitest";
import { execa } from "execa";
import { startAliyunSmsFake } from "../test/fakes/aliyun-sms.js";
import { startPostgres, type PostgresServer } from "../test/servers/postgres.js";
import { BIN } from "../test/e2e/cli.js";
import { dispatch, makeMembers, makeRepo, status, summaryOf, type TestRepo } from "../test/e2e/dispatch-helpers.js";
import { figure, printFigures } from "./figures.js";

const N = Number(process.env.BENCH_PG_MEMBERS ?? 100_000);
const PAIRS = Number(process.env.BENCH_PG_PAIRS ?? 5);
const AT = "2026-12-24 10:30";
const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
const everyone = { wecom: 0, oa: 0, mp: 0, sms: 1, unsubscribed: 0 };
let server: PostgresServer;
let n = 0;

beforeAll(async () => {
  server = await startPostgres({ durable: true });
});
afterAll(async () => {
  await server?.stop();
  printFigures();
});

/** CPU seconds so far: of the dispatch processes this process started and reaped, of the server, of this process. */
function cpuNow(): { workers: number; db: number; fake: number } {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const { user, system } = process.cpuUsage();
  return { workers: (Number(f[13]) + Number(f[14])) / 100, db: server.cpuSeconds(), fake: (user + system) / 1e6 };
}

/** The CPU of a run (medians of each part over the runs) and the wall time the cores allow at best. */
function cpuNote(runs: ReturnType<typeof cpuNow>[]): string {
  const m = (k: keyof ReturnType<typeof cpuNow>) => median(runs.map((r) => r[k]));
  const total = m("workers") + m("db") + m("fake");
  const cores = availableParallelism();
  return `CPU per run: dispatch ${m("workers").toFixed(1)} s, PostgreSQL ${m("db").toFixed(1)} s, fake ${m("fake").toFixed(1)} s; on ${cores} cores at least ${(total / cores).toFixed(2)} s`;
}

function cpuSince(start: ReturnType<typeof cpuNow>): ReturnType<typeof cpuNow> {
  const end = cpuNow();
  return { workers: end.workers - start.workers, db: end.db - start.db, fake: end.fake - start.fake };
}

async function setup(copies: number) {
  const fake = await startAliyunSmsFake({ perNumberDailyLimit: 1_000_000 });
  const members = makeMembers(N, 99, everyone);
  const repos: TestRepo[] = [];
  for (let i = 0; i < copies; i++)
    repos.push(
      makeRepo({
        channels: { sms: { driver: "aliyun-sms", baseUrl: fake.url, concurrency: 16, options: { concurrency: 16 } } },
        campaigns: [{ name: "flat", template: "flat", channels: ["sms"], trigger: "once at 2026-12-24 10:00", with: { coupon: "VIP50" } }],
        members,
      }),
    );
  return { fake, repos };
}

it(`three workers on one PostgreSQL ledger, ${fmt(N)} sends, ${PAIRS} runs`, async () => {
  const walls: number[] = [];
  const shares: string[] = [];
  const cpu: ReturnType<typeof cpuNow>[] = [];
  for (let round = 0; round < PAIRS; round++) {
    const { fake, repos } = await setup(3);
    try {
      const url = await server.database(`bench_${++n}`);
      const c0 = cpuNow();
      const t0 = performance.now();
      const runs = await Promise.all(
        repos.map((repo) =>
          execa(process.execPath, [BIN, "dispatch", "--members", repo.members, "--at", AT, "--json"], {
            cwd: repo.dir,
            env: { CI: "true", NO_COLOR: "1", ...repo.env, CHUDA_LEDGER_URL: url },
            reject: false,
          }),
        ),
      );
      walls.push((performance.now() - t0) / 1000);
      cpu.push(cpuSince(c0));
      for (const r of runs) if (r.exitCode !== 0) throw new Error(`dispatch failed (${r.exitCode}): ${r.stderr}`);
      expect(fake.deliveries().length).toBe(N);
      const each = runs.map((r) => summaryOf({ stdout: String(r.stdout), stderr: String(r.stderr) }).sent);
      expect(each.reduce((a, b) => a + b, 0)).toBe(N);
      shares.push(each.map(fmt).join("/"));
    } finally {
      await fake.close();
    }
  }
  figure(
    `3 workers, PostgreSQL, ${fmt(N)} sends, whole command`,
    `${fmt(N / median(walls))} sends/s`,
    `median ${median(walls).toFixed(2)} s of ${walls.map((w) => w.toFixed(2)).join(" / ")}; sent per worker ${shares.join(", ")} (goal ≥ 20,000/s)`,
  );
  figure(`3 workers, PostgreSQL, ${fmt(N)} sends, CPU`, cpuNote(cpu));
});

it(`one worker: PostgreSQL against SQLite, ${fmt(N)} sends, ${PAIRS} pairs`, async () => {
  // Pairs run one after the other, SQLite then PostgreSQL, and the median of their ratios is the figure: on a shared
  // machine one pair alone can be off by a third either way.
  const ratios: number[] = [];
  const times: Record<string, number[]> = { SQLite: [], PostgreSQL: [] };
  const cpu: Record<string, ReturnType<typeof cpuNow>[]> = { SQLite: [], PostgreSQL: [] };
  for (let pair = 0; pair < PAIRS; pair++) {
    const took: Record<string, number> = {};
    for (const backend of ["SQLite", "PostgreSQL"]) {
      const { fake, repos } = await setup(1);
      try {
        const repo = repos[0]!;
        if (backend === "PostgreSQL") repo.env.CHUDA_LEDGER_URL = await server.database(`bench_${++n}`);
        const c0 = cpuNow();
        const t0 = performance.now();
        const r = await dispatch(repo, AT);
        took[backend] = (performance.now() - t0) / 1000;
        cpu[backend]!.push(cpuSince(c0));
        if (r.exitCode !== 0) throw new Error(`dispatch failed (${r.exitCode}): ${r.stderr}`);
        expect((await status(repo)).sends.sent).toBe(N);
        times[backend]!.push(took[backend]!);
      } finally {
        await fake.close();
      }
    }
    ratios.push(took.PostgreSQL! / took.SQLite!);
  }
  for (const backend of ["SQLite", "PostgreSQL"])
    figure(
      `1 worker, ${backend}, ${fmt(N)} sends, whole command`,
      `${fmt(N / median(times[backend]!))} sends/s`,
      `median ${median(times[backend]!).toFixed(2)} s of ${times[backend]!.map((t) => t.toFixed(2)).join(" / ")}; ${cpuNote(cpu[backend]!)}`,
    );
  figure("1 worker, PostgreSQL / SQLite", `${median(ratios).toFixed(2)}x`, `median of ${ratios.map((r) => r.toFixed(2)).join(" / ")} (goal ≤ 1.5x)`);
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
