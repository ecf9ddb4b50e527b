/**
 * A third-party driver (a module file named by `driver:`) is paced under `rate_limit` like a built-in one when it
 * declares how it calls its provider: `perRecipient` (one call per recipient) and `paced` (it awaits `ctx.acquire`
 * before each call). The driver here logs every "provider call" it makes to a file in the repository.
 */
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { dispatch, makeMembers, makeRepo, type CampaignSpec } from "./dispatch-helpers.js";

const RATE = 5;
const PING: CampaignSpec = { name: "ping", template: "daily", channels: ["hook"], trigger: "once at 2026-12-24 10:00" };

/** The driver module: one logged call per recipient; `paced` decides whether it awaits `ctx.acquire` first. */
function driverSource(paced: boolean): string {
  return `
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import path from "node:path";
const PACED = ${paced};
export default {
  name: "relay",
  contentKind: "webhook",
  batchLimit: 10,
  secrets: [],
  paced: PACED,
  perRecipient: true,
  create(ctx) {
    const log = path.join(ctx.root, "calls.jsonl");
    const logged = () => new Set(existsSync(log) ? readFileSync(log, "utf8").split("\\n").filter(Boolean).map((l) => JSON.parse(l).key) : []);
    return {
      async send(batch) {
        for (const r of batch) {
          if (PACED) await ctx.acquire?.();
          appendFileSync(log, JSON.stringify({ at: Date.now(), key: r.key, batch: batch.length }) + "\\n");
        }
        return batch.map(() => ({ status: "sent" }));
      },
      async reconcile(requests) {
        const keys = logged();
        return requests.map((r) => (keys.has(r.key) ? { status: "sent" } : { status: "failed", class: "retry", code: "not_found", message: "not sent" }));
      },
      async close() {},
    };
  },
};
`;
}

async function runWith(paced: boolean) {
  const members = makeMembers(30, 61);
  const repo = makeRepo({ channels: { hook: { driver: "webhook", rateLimit: RATE, concurrency: 4 } }, campaigns: [PING], members });
  mkdirSync(path.join(repo.dir, "drivers"));
  writeFileSync(path.join(repo.dir, "drivers/relay.mjs"), driverSource(paced));
  const yaml = path.join(repo.dir, "chuda.yaml");
  writeFileSync(yaml, readFileSync(yaml, "utf8").replace("driver: webhook", "driver: ./drivers/relay.mjs"));
  const r = await dispatch(repo, "2026-12-24 10:30");
  expect(r.exitCode, r.stderr + r.stdout).toBe(0);
  const calls = readFileSync(path.join(repo.dir, "calls.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { at: number; key: string; batch: number });
  expect(calls.length).toBe(members.filter((m) => !m.unsubscribed).length);
  expect(new Set(calls.map((c) => c.key)).size).toBe(calls.length);
  return calls;
}

/** The most calls in any window of 1000 ms. */
function busiestSecond(at: number[]): number {
  const t = [...at].sort((a, b) => a - b);
  let max = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! > 1000) j++;
    max = Math.max(max, i - j + 1);
  }
  return max;
}

describe("a third-party driver declares its pacing", () => {
  it("perRecipient, not paced: the runner hands it batches of one, one rate token per call", { timeout: 120_000 }, async () => {
    const calls = await runWith(false);
    // The runner takes one token per batch: with batches of one, one token per provider call.
    expect(new Set(calls.map((c) => c.batch))).toEqual(new Set([1]));
  });

  it("paced and perRecipient: whole batches, each call paced by ctx.acquire", { timeout: 120_000 }, async () => {
    const calls = await runWith(true);
    expect(Math.max(...calls.map((c) => c.batch))).toBeGreaterThan(1);
    expect(busiestSecond(calls.map((c) => c.at))).toBeLessThanOrEqual(RATE);
  });
});
