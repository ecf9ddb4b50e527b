import { defaultServeConfig } from "../../project/serve.js";
import Fastify from "fastify";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteLedger } from "../../dispatch/ledger.js";
import { purchaseAndRegistration, testProject } from "../../check/test-support.js";
import { eventRoutes } from "./events.js";

const TOKEN = "s3cret-token";
const project = testProject((p) => {
  p.events = purchaseAndRegistration();
  p.serve = { ...defaultServeConfig(), eventsTokenEnv: "TEST_EVENTS_TOKEN" };
});

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const x of open.splice(0)) await x.close();
});

async function server() {
  const ledger = new SqliteLedger(join(mkdtempSync(join(tmpdir(), "chuda-events-")), "state.db"));
  const app = Fastify();
  await eventRoutes(app, { project, ledger, clock: () => Date.UTC(2026, 11, 3, 2), env: { TEST_EVENTS_TOKEN: TOKEN } });
  open.push(app, ledger);
  const post = (body: string, token = TOKEN, type = "application/json") =>
    app.inject({ method: "POST", url: "/events", payload: body, headers: { authorization: `Bearer ${token}`, "content-type": type } });
  return { app, ledger, post };
}

const purchase = (member: string, amount = 250) => ({ member, name: "purchase", time: "2026-12-03T10:15:00+08:00", props: { amount, store: "A1" } });

describe("POST /events", () => {
  it("stores a JSON array and JSON Lines, and ignores an event sent again", async () => {
    const { post, ledger } = await server();
    const a = await post(JSON.stringify([purchase("m1"), purchase("m2")]));
    expect(a.statusCode).toBe(200);
    expect(a.json()).toEqual({ accepted: 2, stored: 2, duplicates: 0 });
    const lines = [purchase("m2"), { member: 3, name: "registration", time: 1_780_000_000_000 }].map((e) => JSON.stringify(e)).join("\n");
    const b = await post(lines, TOKEN, "application/x-ndjson");
    expect(b.json()).toEqual({ accepted: 2, stored: 1, duplicates: 1 });
    const stored = await ledger.eventsAfter(0, 0);
    expect(stored.map((e) => [e.member, e.name, e.time, e.props])).toEqual([
      ["m1", "purchase", Date.parse("2026-12-03T02:15:00Z"), { amount: 250, store: "A1" }],
      ["m2", "purchase", Date.parse("2026-12-03T02:15:00Z"), { amount: 250, store: "A1" }],
      ["3", "registration", 1_780_000_000_000, {}],
    ]);
  });
  it("refuses a wrong or missing token with 401, storing nothing", async () => {
    const { post, ledger, app } = await server();
    expect((await post(JSON.stringify([purchase("m1")]), "wrong")).statusCode).toBe(401);
    expect((await app.inject({ method: "POST", url: "/events", payload: "[]" })).statusCode).toBe(401);
    expect(await ledger.eventCount()).toBe(0);
  });
  it("refuses the whole body when one event is bad, saying which and why", async () => {
    const { post, ledger } = await server();
    const r = await post(JSON.stringify([purchase("m1"), { ...purchase("m2"), name: "purchse" }, { ...purchase("m3"), props: { amount: "lots" } }]));
    expect(r.statusCode).toBe(400);
    expect(r.json().problems).toEqual([
      "event 2: unknown event `purchse` (did you mean `purchase`?): chuda.yaml declares `purchase`, `registration`",
      'event 3: property `amount` of `purchase` must be a number, found "lots"',
    ]);
    expect(await ledger.eventCount()).toBe(0);
  });
  it("refuses malformed JSON, a time without offset, unknown properties and keys", async () => {
    const { post, ledger } = await server();
    expect((await post("[{")).json().problems[0]).toMatch(/^malformed JSON/);
    expect((await post('{"member":"m1","name":"purchase","time":"2026-12-03T10:15:00"}\n')).json().problems[0]).toMatch(/^line 1: `time` must be/);
    expect((await post('{"member":"m1","name":"registration","time":1}\n{')).json().problems).toEqual([expect.stringMatching(/^line 2: malformed JSON/)]);
    expect((await post(JSON.stringify([{ ...purchase("m1"), props: { amout: 1 } }]))).json().problems).toEqual([
      "event 1: event `purchase` has no property `amout` (did you mean `amount`?)",
    ]);
    expect((await post(JSON.stringify([{ ...purchase("m1"), extra: 1 }]))).statusCode).toBe(400);
    expect(await ledger.eventCount()).toBe(0);
  });
  it("refuses an oversized body with 413", async () => {
    const { post, ledger } = await server();
    const big = JSON.stringify(Array.from({ length: 80_000 }, (_, i) => purchase(`member-${i}-${"x".repeat(40)}`)));
    expect((await post(big)).statusCode).toBe(413);
    expect(await ledger.eventCount()).toBe(0);
  });
});
