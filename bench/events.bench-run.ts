/**
 * Event-triggered campaigns: latency from an event accepted by `POST /events` (its 200) to the provider call that
 * sends its message (the loopback webhook fake's receipt), at 500 events per second sustained (BENCH_EVENTS_RATE) for
 * 30 s (BENCH_EVENTS_SECONDS), ledger durable, against the loopback Aliyun SMS fake (one message for every member, so
 * a cycle's sends go out in batched calls). The server is test/serve/standalone.mjs (the /events route and the
 * event loop of chuda serve, from dist/). Goal: p95 at most 2 s. Figures only; nothing here asserts on time.
 */
import { afterAll, expect, it } from "vitest";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startAliyunSmsFake } from "../test/fakes/aliyun-sms.js";
import { makeMembers, makeRepo, memberOf } from "../test/e2e/dispatch-helpers.js";
import { startServe } from "../test/serve/harness.js";
import { figure, printFigures } from "./figures.js";

const RATE = Number(process.env.BENCH_EVENTS_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_EVENTS_SECONDS ?? 30);
const MEMBERS = 20_000; // at least RATE × SECONDS: one event per member, so a delivery names its event
const TICK_MS = 100;
const TOKEN = "bench-events-token";
const repos: string[] = [];

const quantile = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

it(`event accepted → provider call at ${RATE} events/s for ${SECONDS} s`, async () => {
  const fake = await startAliyunSmsFake({ perNumberDailyLimit: 1_000_000 });
  const repo = makeRepo({
    channels: { sms: { driver: "aliyun-sms", baseUrl: fake.url, concurrency: 64, options: { concurrency: 64 } } },
    campaigns: [],
    members: makeMembers(MEMBERS, 5, { wecom: 0, oa: 0, mp: 0, sms: 1, unsubscribed: 0 }),
  });
  repos.push(repo.dir);
  const yaml = readFileSync(path.join(repo.dir, "chuda.yaml"), "utf8").replace(/^ {2}quiet_hours:.*\n/m, "");
  writeFileSync(path.join(repo.dir, "chuda.yaml"), yaml + "events:\n  purchase: { amount: number }\nserve:\n  events_token_env: CHUDA_EVENTS_TOKEN\n");
  writeFileSync(
    path.join(repo.dir, "campaigns/test.chuda"),
    'campaign thanks {\n  audience event.amount >= 0\n  trigger  on event "purchase"\n  content  "flat" with { coupon: "VIP50" }\n  channel  sms\n  goal     visit within 3 days\n}\n',
  );
  const env: Record<string, string> = { ...repo.env, CHUDA_EVENTS_TOKEN: TOKEN };
  delete env["CHUDA_NOW"];
  const server = await startServe(repo.dir, env, repo.members);
  try {
    const accepted = new Map<string, number>(); // member → when its event was acknowledged (one event per member)
    const perTick = Math.round((RATE * TICK_MS) / 1000);
    const ticks = Math.round((SECONDS * 1000) / TICK_MS);
    const t0 = Date.now();
    let seq = 0;
    const posts: Promise<void>[] = [];
    for (let k = 0; k < ticks; k++) {
      const wait = t0 + k * TICK_MS - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const batch = Array.from({ length: perTick }, () => {
        const i = seq++;
        return { member: `M${String((i % MEMBERS) + 1).padStart(6, "0")}`, name: "purchase", time: Date.now(), props: { amount: i % 1000 } };
      });
      posts.push(
        fetch(`${server.url}/events`, {
          method: "POST",
          body: JSON.stringify(batch),
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        }).then(async (r) => {
          const at = Date.now();
          await r.text();
          if (r.status !== 200) throw new Error(`POST /events answered ${r.status}`);
          for (const e of batch) accepted.set(e.member, at);
        }),
      );
    }
    await Promise.all(posts);
    const sentSeconds = (Date.now() - t0) / 1000;
    const deadline = Date.now() + 120_000;
    while (fake.deliveries().length < seq && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const deliveries = fake.deliveries();
    expect(deliveries.length).toBe(seq);
    const latencies = deliveries.map((d) => d.at - accepted.get(memberOf(d.phone))!).sort((a, b) => a - b);
    figure(
      `events: ${seq.toLocaleString("en-US")} events posted`,
      `${Math.round(seq / sentSeconds)} events/s`,
      `over ${sentSeconds.toFixed(1)} s, batches of ${perTick} every ${TICK_MS} ms`,
    );
    figure(
      "events: accepted → provider call",
      `p95 ${(quantile(latencies, 0.95) / 1000).toFixed(2)} s`,
      `p50 ${(quantile(latencies, 0.5) / 1000).toFixed(2)} s, p99 ${(quantile(latencies, 0.99) / 1000).toFixed(2)} s, max ${(latencies[latencies.length - 1]! / 1000).toFixed(2)} s (goal p95 ≤ 2 s)`,
    );
  } finally {
    if (process.env.CHUDA_CYCLE_LOG) process.stdout.write(server.stderr());
    await server.stop();
    await fake.close();
  }
});

afterAll(() => {
  printFigures();
  for (const d of repos) rmSync(d, { recursive: true, force: true });
});
