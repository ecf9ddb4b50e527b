/**
 * What planning an occurrence again costs: `chuda dispatch` of 100,000 members (BENCH_DISPATCH_MEMBERS) at 10:30,
 * then the same snapshot again at 10:35 (every member planned before: nothing new, nothing withdrawn).
 * Figures only; nothing here asserts on time.
 */
import { afterAll, expect, it } from "vitest";
import { rmSync } from "node:fs";
import { startAliyunSmsFake } from "../test/fakes/aliyun-sms.js";
import { dispatch, makeMembers, makeRepo, summaryOf } from "../test/e2e/dispatch-helpers.js";
import { figure, printFigures } from "./figures.js";

const N = Number(process.env.BENCH_DISPATCH_MEMBERS ?? 100_000);
const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
const repos: string[] = [];

it(`dispatch ${fmt(N)} members, then the same occurrence planned again`, async () => {
  const fake = await startAliyunSmsFake({ perNumberDailyLimit: 1_000_000 });
  try {
    const members = makeMembers(N, 99, { wecom: 0, oa: 0, mp: 0, sms: 1, unsubscribed: 0 });
    const repo = makeRepo({
      channels: { sms: { driver: "aliyun-sms", baseUrl: fake.url, concurrency: 16, options: { concurrency: 16 } } },
      campaigns: [{ name: "flat", template: "flat", channels: ["sms"], trigger: "once at 2026-12-24 10:00", with: { coupon: "VIP50" }, holdout: 10 }],
      members,
    });
    repos.push(repo.dir);
    let t0 = performance.now();
    const first = await dispatch(repo, "2026-12-24 10:30");
    const firstS = (performance.now() - t0) / 1000;
    expect(first.exitCode, first.stderr).toBe(0);
    t0 = performance.now();
    const again = await dispatch(repo, "2026-12-24 10:35");
    const againS = (performance.now() - t0) / 1000;
    expect(again.exitCode, again.stderr).toBe(0);
    expect(summaryOf(again).planned).toBe(0);
    figure(`dispatch ${fmt(N)} members, first run`, `${firstS.toFixed(2)} s`, `${fmt(summaryOf(first).sent)} sent`);
    figure(`the same occurrence planned again`, `${againS.toFixed(2)} s`, "nothing new, nothing withdrawn");
  } finally {
    await fake.close();
  }
});

afterAll(() => {
  printFigures();
  for (const d of repos) rmSync(d, { recursive: true, force: true });
});
