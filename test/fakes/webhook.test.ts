import { afterEach, describe, expect, it } from "vitest";
import { type WebhookFake, type WebhookFakeOptions, startWebhookFake } from "./webhook.js";
import { manualClock } from "./common.js";
import { webhookSignature } from "../../src/drivers/signing.js";

const fakes: WebhookFake[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.close();
});

async function start(opts: WebhookFakeOptions = {}) {
  const clock = manualClock(1795399200_000);
  const fake = await startWebhookFake({ clock: clock.now, ...opts });
  fakes.push(fake);
  const post = async (body: string, o: { ts?: number; secret?: string; sig?: string } = {}) => {
    const ts = o.ts ?? Math.floor(clock.now() / 1000);
    const res = await fetch(`${fake.url}/hooks/chuda`, {
      method: "POST",
      headers: {
        "content-type": "application/json; charset=utf-8",
        "x-chuda-timestamp": String(ts),
        "x-chuda-signature": o.sig ?? webhookSignature(o.secret ?? "whsecret", ts, body),
      },
      body,
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };
  return { fake, clock, post };
}

const BODY =
  '{"key":"k-7f3a9c","campaign":"birthday","occurrence":"2026-11-24T10:00:00+08:00","member":"M000123","channel":"webhook","content":{"text":"王伟您好，生日礼券BDAY50已到账"}}';

describe("webhook fake", () => {
  it("accepts the documented vector's signature", async () => {
    const { post, fake } = await start();
    const r = await post(BODY, { sig: "sha256=22c0c98d2e5585c3cca1fa6d0a048b32c02903d785065d898e67a3f0dcb3a8ce", ts: 1795399200 });
    expect(r.status).toBe(200);
    expect(fake.deliveries().map((d) => [d.key, d.path])).toEqual([["k-7f3a9c", "/hooks/chuda"]]);
  });

  it("rejects bad signatures and timestamps outside ±300 s", async () => {
    const { post, fake, clock } = await start();
    expect((await post(BODY, { secret: "other" })).status).toBe(401);
    const now = Math.floor(clock.now() / 1000);
    expect((await post(BODY, { ts: now - 301 })).status).toBe(401);
    expect((await post(BODY, { ts: now + 301 })).status).toBe(401);
    expect((await post(BODY, { ts: now - 300 })).status).toBe(200);
    expect(fake.rejected().map((r) => r.reason)).toEqual(["signature", "timestamp", "timestamp"]);
  });

  it("dedupes on key: a repeat is 2xx and counted once", async () => {
    const { post, fake } = await start();
    expect((await post(BODY)).body).toEqual({ ok: true, duplicate: false });
    expect((await post(BODY)).body).toEqual({ ok: true, duplicate: true });
    expect(fake.deliveries()).toHaveLength(1);
    expect(fake.received()).toBe(2);
    expect((await post('{"nokey":1}')).status).toBe(400);
  });

  it("answers queued statuses and rate-limits with Retry-After", async () => {
    const { post, fake } = await start({ rateLimit: { perSecond: 1 }, retryAfterSeconds: 7 });
    fake.respond(503);
    expect((await post(BODY)).status).toBe(503);
    expect((await post(BODY)).status).toBe(200);
    const r = await post(BODY);
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("7");
  });
});
