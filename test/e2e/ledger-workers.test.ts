/**
 * Several `chuda dispatch` workers, each in its own copy of the repository, on one PostgreSQL ledger (a real server on
 * loopback) against the Aliyun SMS fake with injected faults and a rate limit: one worker is killed with SIGKILL at a
 * random point, a later run finishes. Zero duplicates at the fake, every send accounted for in `status`, and the
 * global rate limit held in every sliding second of the calls the fake received from all workers together.
 */
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { mulberry32 } from "../fakes/common.js";
import { startAliyunSmsFake, type AliyunSmsFake } from "../fakes/aliyun-sms.js";
import { postgresForFile } from "../servers/postgres-hooks.js";
import { BIN } from "./cli.js";
import { dispatch, duplicates, makeMembers, makeRepo, memberOf, status, waitFor, type CampaignSpec } from "./dispatch-helpers.js";

const AT = "2026-12-24 10:30";
const ONCE = "once at 2026-12-24 10:00";
const MEMBERS = Number(process.env.WORKERS_E2E_MEMBERS ?? 10_000);
const RATE = 40;
// One message for every member per campaign: the driver sends a batch of identical messages in one call.
const CAMPAIGNS: CampaignSpec[] = ["spring", "summer", "autumn"].map((name) => ({ name, template: name, channels: ["sms"], trigger: ONCE }));
const TEMPLATE_CAMPAIGN: Record<string, string> = { SMS_3001: "spring", SMS_3002: "summer", SMS_3003: "autumn" };
const template = (code: string) => `sms:\n  sign: "测试广场"\n  code: "${code}"\n  body: "会员日全场满300减50。拒收请回复R"\n  params: {}\n`;

let fake: AliyunSmsFake;
const server = postgresForFile({ durable: false }, () => fake?.close());

describe("three workers on one PostgreSQL ledger", () => {
  it(
    `~${(MEMBERS * 3).toLocaleString("en-US")} sends, one worker killed with SIGKILL, a later run finishes: no duplicate, all accounted for, the rate held`,
    { timeout: 600_000 },
    async () => {
      const rng = mulberry32(Number(process.env.WORKERS_E2E_SEED ?? 18));
      const members = makeMembers(MEMBERS, 18, { wecom: 0, oa: 0, mp: 0, sms: 1, unsubscribed: 0 });
      // Faults on 3 % of calls (5xx, resets, answers lost after the send was made, slow answers); receipts final at once.
      fake = await startAliyunSmsFake({ perNumberDailyLimit: 1_000, receiptDelayMs: 0, faultRate: 0.03, seed: 18, slowMs: 300 });
      const url = await server().database("workers");
      const repos = [0, 1, 2].map(() =>
        makeRepo({
          channels: { sms: { driver: "aliyun-sms", baseUrl: fake.url, rateLimit: RATE, concurrency: 4, options: { concurrency: 4 } } },
          campaigns: CAMPAIGNS,
          members,
        }),
      );
      for (const r of repos) {
        Object.assign(r.env, { CHUDA_LEDGER_URL: url, CHUDA_LEDGER_LEASE_SECONDS: "3" });
        for (const [code, name] of Object.entries(TEMPLATE_CAMPAIGN)) writeFileSync(path.join(r.dir, "templates", `${name}.yaml`), template(code));
      }

      const children = repos.map((repo) =>
        execa(process.execPath, [BIN, "dispatch", "--members", repo.members, "--at", AT, "--json"], {
          cwd: repo.dir,
          env: { CI: "true", NO_COLOR: "1", ...repo.env },
          reject: false,
          timeout: 400_000,
        }),
      );
      const victim = Math.floor(rng() * 3);
      const killAt = Math.floor(MEMBERS * (0.2 + rng() * 1.5));
      let exited = false;
      void children[victim]!.then(() => (exited = true));
      await waitFor(() => exited || fake.deliveries().length >= killAt, 300_000, "the kill point");
      const killed = !exited && children[victim]!.kill("SIGKILL");
      const results = await Promise.all(children);
      for (const [i, r] of results.entries()) if (i !== victim || !killed) expect(r.exitCode, r.stderr).toBeLessThanOrEqual(1);
      expect(killed, "the victim finished before its kill point").toBe(true);
      expect(results[victim]!.signal).toBe("SIGKILL");

      // The killed worker's leases run out; a later run reconciles what it left in flight and sends what it left planned.
      await new Promise((r) => setTimeout(r, 3500));
      const last = await dispatch(repos[0]!, AT);
      expect(last.exitCode, last.stderr).toBeLessThanOrEqual(1);

      const delivered = fake.deliveries().map((d) => `${TEMPLATE_CAMPAIGN[d.template] ?? d.template}|${memberOf(d.phone)}`);
      expect(duplicates(delivered)).toEqual([]);
      const st = await status(repos[1]!);
      expect(st.sends.planned).toBe(0);
      expect(st.sends.in_flight).toBe(0);
      const total = Object.values(st.sends).reduce((a, b) => a + b, 0);
      expect(total).toBe(MEMBERS * 3);

      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const rows = (await client.query(`SELECT campaign, member, state FROM sends`)).rows as { campaign: string; member: string; state: string }[];
        const sent = new Set(rows.filter((r) => r.state === "sent").map((r) => `${r.campaign}|${r.member}`));
        const unknown = new Set(rows.filter((r) => r.state === "unknown").map((r) => `${r.campaign}|${r.member}`));
        // Every send recorded sent reached the fake; everything the fake received is sent or unknown in the ledger.
        const got = new Set(delivered);
        expect([...sent].filter((k) => !got.has(k))).toEqual([]);
        expect(delivered.filter((k) => !sent.has(k) && !unknown.has(k))).toEqual([]);
      } finally {
        await client.end();
      }

      // The rate across all workers: the calls the fake received (one batch id each), in every sliding second.
      const callTimes = [...new Map(fake.deliveries().map((d) => [d.bizId, d.at])).values()].sort((a, b) => a - b);
      let worst = 0;
      for (let i = 0, j = 0; i < callTimes.length; i++) {
        while (callTimes[i]! - callTimes[j]! >= 1000) j++;
        worst = Math.max(worst, i - j + 1);
      }
      expect(worst).toBeLessThanOrEqual(RATE);
    },
  );
});
