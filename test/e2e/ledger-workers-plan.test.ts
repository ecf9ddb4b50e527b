/**
 * Workers started together on one PostgreSQL ledger plan each occurrence once: the worker that takes the planning lock
 * plans it; a worker that waited meanwhile finds it planned and sends what was planned instead of planning it again
 * against its own copy of the same members (that took as long as the first plan, one worker after the other).
 */
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import pg from "pg";
import { startAliyunSmsFake, type AliyunSmsFake } from "../fakes/aliyun-sms.js";
import { postgresForFile } from "../servers/postgres-hooks.js";
import { PostgresLedger } from "../../src/ledger/postgres.js";
import { BIN } from "./cli.js";
import { duplicates, makeMembers, makeRepo, memberOf, summaryOf, waitFor } from "./dispatch-helpers.js";

const AT = "2026-12-24 10:30";
const MEMBERS = 600;

let fake: AliyunSmsFake;
const server = postgresForFile({ durable: false }, () => fake?.close());

describe("workers started together", () => {
  it("plan an occurrence once: a worker that waited for the planning lock does not plan it again", { timeout: 120_000 }, async () => {
    fake = await startAliyunSmsFake({ perNumberDailyLimit: 1_000 });
    const url = await server().database("plan_once");
    const members = makeMembers(MEMBERS, 5, { wecom: 0, oa: 0, mp: 0, sms: 1, unsubscribed: 0 });
    const repos = [0, 1].map(() =>
      makeRepo({
        channels: { sms: { driver: "aliyun-sms", baseUrl: fake.url, concurrency: 4, options: { concurrency: 4 } } },
        campaigns: [{ name: "flat", template: "flat", channels: ["sms"], trigger: "once at 2026-12-24 10:00", with: { coupon: "VIP50" } }],
        members,
      }),
    );
    // The test holds the planning lock until both workers wait for it, so that neither has planned before the other
    // started (what workers started by one scheduler at one moment see).
    const holder = await PostgresLedger.open(url);
    const look = new pg.Client({ connectionString: url });
    await look.connect();
    try {
      const release = await holder.lockPlanning();
      await holder.lastSnapshotSize();
      const children = repos.map((repo) =>
        execa(process.execPath, [BIN, "dispatch", "--members", repo.members, "--at", AT, "--json"], {
          cwd: repo.dir,
          env: { CI: "true", NO_COLOR: "1", ...repo.env, CHUDA_LEDGER_URL: url },
          reject: false,
        }),
      );
      let waiting = 0;
      const poll = setInterval(() => {
        void look
          .query(`SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE application_name = 'chuda' AND query LIKE '%pg_try_advisory_lock%'`)
          .then((r) => (waiting = (r.rows[0] as { n: number }).n));
      }, 50);
      try {
        await waitFor(() => waiting >= 2, 60_000, "both workers waiting for the planning lock");
      } finally {
        clearInterval(poll);
      }
      await release();
      const runs = await Promise.all(children);
      for (const r of runs) expect(r.exitCode, String(r.stderr)).toBe(0);
      const summaries = runs.map(
        (r) => summaryOf({ stdout: String(r.stdout), stderr: String(r.stderr) }) as ReturnType<typeof summaryOf> & { occurrences: number; replanned: number },
      );
      // One planned the occurrence; the other neither planned it nor planned it again.
      expect(summaries.map((s) => s.occurrences).sort()).toEqual([0, 1]);
      expect(summaries.map((s) => s.replanned)).toEqual([0, 0]);
      expect(summaries.reduce((n, s) => n + s.planned, 0)).toBe(MEMBERS);
      expect(summaries.reduce((n, s) => n + s.sent, 0)).toBe(MEMBERS);
      expect(duplicates(fake.deliveries().map((d) => memberOf(d.phone)))).toEqual([]);
      expect(fake.deliveries().length).toBe(MEMBERS);
    } finally {
      await look.end();
      await holder.close();
    }
  });
});
