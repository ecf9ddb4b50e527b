import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import webhook, { parseRetryAfter, webhookBody, webhookUrl } from "./webhook.js";
import type { DriverInstance, SendOutcome, SendRequest } from "./types.js";
import { type WebhookFake, type WebhookFakeOptions, startWebhookFake } from "../../test/fakes/webhook.js";
import { fault, manualClock } from "../../test/fakes/common.js";

const SECRET = "webhook-Secret-0123456789";

function req(member: string, text = "王伟您好"): SendRequest {
  const occurrence = "2026-11-24T10:00:00+08:00";
  const key = `birthday|${occurrence}|${member}|hook`;
  return {
    key,
    dedupeId: createHash("sha256").update(key).digest("hex").slice(0, 32),
    campaign: "birthday",
    occurrence,
    member,
    channel: "hook",
    address: member,
    content: { kind: "webhook", body: { text, coupon: "BDAY50" } },
  };
}

const fakes: WebhookFake[] = [];
const instances: DriverInstance[] = [];
afterEach(async () => {
  for (const i of instances.splice(0)) await i.close();
  for (const f of fakes.splice(0)) await f.close();
});

async function setup(opts: WebhookFakeOptions = {}, drv: { secret?: string; timeoutMs?: number; options?: Record<string, unknown> } = {}) {
  const clock = manualClock(1795399200_000);
  const fake = await startWebhookFake({ secret: SECRET, clock: clock.now, ...opts });
  fakes.push(fake);
  const inst = webhook.create({
    channel: "hook",
    secrets: { secret: drv.secret ?? SECRET },
    baseUrl: fake.url,
    options: { url: "https://crm.example.com/hooks/chuda?src=1", ...(drv.options ?? {}) },
    now: clock.now,
    timeoutMs: drv.timeoutMs ?? 5000,
    root: "/tmp",
  });
  instances.push(inst);
  return { fake, inst, clock };
}

const summary = (o: (SendOutcome | undefined)[]) => o.map((x) => (x === undefined ? "unknown" : x.status === "failed" ? `${x.class}:${x.code}` : x.status));

describe("webhook driver", () => {
  it("builds the URL, the body and Retry-After", () => {
    expect(webhookUrl("https://crm.example.com/hooks/chuda?x=1", "http://127.0.0.1:9999")).toBe("http://127.0.0.1:9999/hooks/chuda?x=1");
    expect(webhookUrl("https://crm.example.com/h", "http://127.0.0.1:9/proxy/")).toBe("http://127.0.0.1:9/proxy/h");
    expect(webhookUrl("https://crm.example.com/h")).toBe("https://crm.example.com/h");
    const b = JSON.parse(webhookBody(req("M1"))) as Record<string, unknown>;
    expect(Object.keys(b)).toEqual(["key", "campaign", "occurrence", "member", "channel", "content"]);
    expect(b.content).toEqual({ text: "王伟您好", coupon: "BDAY50" });
    expect(parseRetryAfter("30", 1000)).toBe(31_000);
    expect(parseRetryAfter("Wed, 25 Nov 2026 00:00:00 GMT", 0)).toBe(Date.UTC(2026, 10, 25));
    expect(parseRetryAfter("soon", 0)).toBeUndefined();
  });

  it("posts signed bodies that the receiver accepts, once per key", async () => {
    const { inst, fake } = await setup();
    const batch = [req("M1"), req("M2"), req("M3")];
    expect(summary(await inst.send(batch))).toEqual(["sent", "sent", "sent"]);
    expect(
      fake
        .deliveries()
        .map((d) => d.key)
        .sort(),
    ).toEqual(batch.map((r) => r.dedupeId).sort());
    expect(fake.deliveries()[0]!.path).toBe("/hooks/chuda");
    // A resend (e.g. after a lost answer) is deduplicated by the receiver.
    expect(summary(await inst.reconcile!([batch[0]!]))).toEqual(["sent"]);
    expect(fake.deliveries()).toHaveLength(3);
    expect(fake.received()).toBe(4);
    expect(fake.rejected()).toHaveLength(0);
  });

  it("accept-then-drop is retried with the same key, and the receiver counts it once", async () => {
    const { inst, fake } = await setup();
    fake.script(fault.acceptThenDrop());
    expect(summary(await inst.send([req("M1")]))).toEqual(["retry:reset"]);
    expect(summary(await inst.send([req("M1")]))).toEqual(["sent"]);
    expect(fake.deliveries()).toHaveLength(1);
    expect(fake.received()).toBe(2);
  });

  it("defers on 429 per Retry-After, retries 5xx and timeouts, fails other 4xx as request", async () => {
    const { inst, fake, clock } = await setup({}, { timeoutMs: 200 });
    fake.respond(429, { "retry-after": "120" });
    const d = (await inst.send([req("M1")]))[0]!;
    expect(d).toMatchObject({ status: "failed", class: "defer", code: "http_429", notBefore: clock.now() + 120_000 });
    fake.respond(429);
    expect((await inst.send([req("M1")]))[0]).toMatchObject({ class: "defer", notBefore: clock.now() + 60_000 });
    fake.respond(503);
    expect(summary(await inst.send([req("M1")]))).toEqual(["retry:http_503"]);
    fake.respond(422);
    expect(summary(await inst.send([req("M1")]))).toEqual(["request:http_422"]);
    fake.respond(403);
    expect(summary(await inst.send([req("M1")]))).toEqual(["stop:http_403"]);
    fake.respond(404);
    expect(summary(await inst.send([req("M1")]))).toEqual(["stop:http_404"]);
    fake.script(fault.slow(1500));
    expect(summary(await inst.send([req("M1")]))).toEqual(["retry:timeout"]);
  });

  it("is refused by the receiver with a wrong secret, and never leaks the secret", async () => {
    const { inst, fake } = await setup({}, { secret: "wrong-Secret-value-0000" });
    const out = await inst.send([req("M1")]);
    // A credentials error is the channel's, not the send's: the channel stops and the send stays pending.
    expect(summary(out)).toEqual(["stop:http_401"]);
    expect(fake.rejected().map((r) => r.reason)).toEqual(["signature"]);
    expect(JSON.stringify(out)).not.toContain("wrong-Secret-value-0000");
  });

  it("stops without options.url", async () => {
    const { fake } = await setup();
    const inst = webhook.create({ channel: "hook", secrets: { secret: SECRET }, baseUrl: fake.url, options: {}, now: Date.now, timeoutMs: 1000, root: "/tmp" });
    instances.push(inst);
    expect(summary(await inst.send([req("M1")]))).toEqual(["stop:missing_option"]);
  });
});
