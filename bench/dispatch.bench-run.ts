/**
 * `chuda dispatch` throughput against the loopback Aliyun SMS fake (the driver that batches best: one SendSms call
 * carries a batch of identical messages), with the ledger durable (WAL, synchronous=FULL).
 *
 * 1. No provider limit: 100,000 members (BENCH_DISPATCH_MEMBERS) due at one moment. Reported: sends per second over
 *    the whole command (start-up, snapshot load, planning, ledger writes, sending) and over the send phase alone
 *    (first to last call the fake saw). Goal: at least 20,000/s.
 * 2. A configured rate: `rate_limit: 100` calls/s on the channel (BENCH_DISPATCH_RATE); the fake counts the calls it
 *    receives between the first and the last. Goal: at least 95 % of the configured rate, and never above it. Two
 *    drivers: Aliyun SMS (a batch of identical messages is one SendSms call) and the webhook (one POST per recipient,
 *    a batch of 50 fans out inside the driver): the driver paces every provider call through `DriverContext.acquire`.
 * Figures only; nothing here asserts on time.
 */
import { afterAll, expect, it } from "vitest";
import { rmSync } from "node:fs";
import { startAliyunSmsFake } from "../test/fakes/aliyun-sms.js";
import { startWebhookFake } from "../test/fakes/webhook.js";
import { dispatch, makeMembers, makeRepo, status, summaryOf } from "../test/e2e/dispatch-helpers.js";
import { figure, printFigures } from "./figures.js";

const N = Number(process.env.BENCH_DISPATCH_MEMBERS ?? 100_000);
const RATE = Number(process.env.BENCH_DISPATCH_RATE ?? 100);
const AT = "2026-12-24 10:30";
const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
const everyone = { wecom: 0, oa: 0, mp: 0, sms: 1, unsubscribed: 0 };
const repos: string[] = [];

it(`dispatch ${fmt(N)} SMS sends, no provider limit`, async () => {
  const fake = await startAliyunSmsFake({ perNumberDailyLimit: 1_000_000 });
  try {
    const members = makeMembers(N, 99, everyone);
    const repo = makeRepo({
      channels: { sms: { driver: "aliyun-sms", baseUrl: fake.url, concurrency: 16, options: { concurrency: 16 } } },
      campaigns: [{ name: "flat", template: "flat", channels: ["sms"], trigger: "once at 2026-12-24 10:00", with: { coupon: "VIP50" } }],
      members,
    });
    repos.push(repo.dir);
    const t0 = performance.now();
    const r = await dispatch(repo, AT);
    const wall = (performance.now() - t0) / 1000;
    if (r.exitCode !== 0) throw new Error(`dispatch failed (${r.exitCode}): ${r.stderr}`);
    const sum = summaryOf(r);
    const deliveries = fake.deliveries();
    expect(deliveries.length).toBe(N);
    expect(sum.sent).toBe(N);
    const st = await status(repo);
    expect(st.sends.sent).toBe(N);
    const times = deliveries.map((d) => d.at);
    const phase = (Math.max(...times) - Math.min(...times)) / 1000;
    const calls = fake.calls().filter((c) => c.action === "SendSms" || c.action === "SendBatchSms").length;
    figure(`dispatch ${fmt(N)} sends, whole command`, `${fmt(N / wall)} sends/s`, `${wall.toFixed(2)} s incl. start-up, load, plan, ledger (goal ≥ 20,000/s)`);
    figure(`dispatch ${fmt(N)} sends, send phase`, `${fmt(N / Math.max(phase, 1e-3))} sends/s`, `${phase.toFixed(2)} s, ${fmt(calls)} provider calls`);
  } finally {
    await fake.close();
  }
});

it(`dispatch at a configured rate of ${RATE} calls/s`, async () => {
  const fake = await startAliyunSmsFake({ perNumberDailyLimit: 1_000_000 });
  try {
    // One body for everyone: each batch of 100 is one SendSms call, so batches per second are provider calls per
    // second. (With per-member bodies the driver may split a batch into several calls: see the report.) 12 s of calls.
    const n = RATE * 12 * 100;
    const members = makeMembers(n, 98, everyone);
    const repo = makeRepo({
      channels: { sms: { driver: "aliyun-sms", baseUrl: fake.url, rateLimit: RATE, concurrency: 8, options: { concurrency: 8 } } },
      campaigns: [{ name: "flat", template: "flat", channels: ["sms"], trigger: "once at 2026-12-24 10:00", with: { coupon: "VIP50" } }],
      members,
    });
    repos.push(repo.dir);
    const r = await dispatch(repo, AT);
    // One stamp per provider call: the fake's deliveries carry the call's BizId and its acceptance time.
    const byCall = new Map<string, number>();
    for (const d of fake.deliveries()) if (!byCall.has(d.bizId)) byCall.set(d.bizId, d.at);
    const stamps = [...byCall.values()];
    if (r.exitCode !== 0) throw new Error(`dispatch failed (${r.exitCode}): ${r.stderr}`);
    expect(fake.deliveries().length).toBe(n);
    const { achieved, span, peak } = rateOf(stamps);
    figure(
      `aliyun-sms calls at rate_limit ${RATE}/s`,
      `${achieved.toFixed(1)} calls/s`,
      `${((achieved / RATE) * 100).toFixed(1)} % of the configured rate (goal ≥ 95 %), busiest 1 s window ${peak} calls, ${stamps.length} calls over ${span.toFixed(2)} s`,
    );
  } finally {
    await fake.close();
  }
});

/** Calls per second between the first and the last call stamp, and the most calls seen in any 1-second window. */
function rateOf(stamps: number[]): { achieved: number; span: number; peak: number } {
  stamps.sort((a, b) => a - b);
  const span = (stamps[stamps.length - 1]! - stamps[0]!) / 1000;
  let peak = 0;
  for (let i = 0, j = 0; i < stamps.length; i++) {
    while (stamps[i]! - stamps[j]! >= 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return { achieved: (stamps.length - 1) / span, span, peak };
}

it(`webhook (one call per recipient) at a configured rate of ${RATE} calls/s`, async () => {
  const fake = await startWebhookFake({ secret: "whsecret" });
  try {
    const n = RATE * 12;
    const members = makeMembers(n, 97, everyone);
    const repo = makeRepo({
      channels: {
        hook: { driver: "webhook", baseUrl: fake.url, rateLimit: RATE, concurrency: 4, options: { url: "https://crm.example.com/chuda/hook", concurrency: 8 } },
      },
      campaigns: [{ name: "flat", template: "flat", channels: ["hook"], trigger: "once at 2026-12-24 10:00", with: { coupon: "VIP50" } }],
      members,
    });
    repos.push(repo.dir);
    const r = await dispatch(repo, AT);
    if (r.exitCode !== 0) throw new Error(`dispatch failed (${r.exitCode}): ${r.stderr}`);
    const deliveries = fake.deliveries();
    expect(deliveries.length).toBe(n);
    expect(fake.received()).toBe(n); // one call per recipient, none repeated
    const { achieved, span, peak } = rateOf(deliveries.map((d) => d.at));
    figure(
      `webhook calls at rate_limit ${RATE}/s`,
      `${achieved.toFixed(1)} calls/s`,
      `${((achieved / RATE) * 100).toFixed(1)} % of the configured rate (goal ≥ 95 %), busiest 1 s window ${peak} calls, ${n} calls over ${span.toFixed(2)} s`,
    );
  } finally {
    await fake.close();
  }
});

afterAll(() => {
  printFigures();
  for (const d of repos) rmSync(d, { recursive: true, force: true });
});
