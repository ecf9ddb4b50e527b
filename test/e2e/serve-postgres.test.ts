/**
 * `chuda serve` on a PostgreSQL ledger (CHUDA_LEDGER_URL), against a real PostgreSQL server with durable commits:
 * receipts, opt-out replies and business events land in the ledger dispatch shares, `status` and `report` read them,
 * (kill -9 of the server during a receipt batch: test/e2e/serve-crash.test.ts, on both ledgers).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { startPostgres, type PostgresServer } from "../servers/postgres.js";
import { aliyunReply, aliyunReport, pushWithRetry } from "../fakes/push.js";
import { dispatch, makeMembers, makeRepo, run, startFakes, status, summaryOf, waitFor, type Fakes, type TestRepo } from "./dispatch-helpers.js";
import { startServe, type ServeProcess } from "../serve/harness.js";

const AT = "2026-12-24 10:30";
const SMS_TOKEN = "sms_cb_token_on_postgres";
const EVENTS_TOKEN = "events-token-on-postgres-1";

interface DeliveryStatus {
  delivery: { delivered: number; failed: number; unconfirmed: number };
  suppressed: number;
  by_campaign: { campaign: string; channel: string; sent: number }[];
}

let server: PostgresServer;
let databases = 0;
const stops: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  for (const s of stops.reverse()) await s().catch(() => undefined);
  await server?.stop();
});

/** The SMS channel takes Aliyun's pushes (`callback_token`); the ledger is a new PostgreSQL database. */
async function smsRepo(fakes: Fakes, members: ReturnType<typeof makeMembers>, withHook = false): Promise<TestRepo> {
  const repo = makeRepo({
    channels: { sms: fakes.channels.sms!, ...(withHook ? { hook: fakes.channels.hook! } : {}) },
    campaigns: [{ name: "gift", template: "gift", channels: ["sms"], trigger: "once at 2026-12-24 10:00", with: { coupon: "XMAS50", amount: 50 } }],
    members,
  });
  const file = path.join(repo.dir, "chuda.yaml");
  writeFileSync(file, readFileSync(file, "utf8").replace("access_key_secret: ALIYUN_SK", "access_key_secret: ALIYUN_SK, callback_token: SMS_CB_TOKEN"));
  repo.env.SMS_CB_TOKEN = SMS_TOKEN;
  repo.env.CHUDA_LEDGER_URL = await server.database(`serve_${process.pid}_${++databases}`);
  return repo;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

describe("chuda serve on a PostgreSQL ledger", () => {
  it("a receipt push, an SMS 退订 reply and POST /events land in PostgreSQL: status shows delivered, suppressed and the event's send", async () => {
    const members = makeMembers(40, 3, { sms: 1, unsubscribed: 0 });
    const fakes = await startFakes(members);
    stops.push(() => fakes.close());
    const hook = fakes.hook;
    const repo = await smsRepo(fakes, members, true);
    // An event campaign on the webhook channel; no quiet hours (the server runs on the wall clock).
    const yaml = path.join(repo.dir, "chuda.yaml");
    writeFileSync(
      yaml,
      readFileSync(yaml, "utf8").replace(/^ {2}quiet_hours:.*\n/m, "") +
        "events:\n  purchase: { amount: number, store: string }\nserve:\n  events_token_env: CHUDA_EVENTS_TOKEN\n",
    );
    writeFileSync(
      path.join(repo.dir, "campaigns/thanks.chuda"),
      'campaign thanks "消费感谢" {\n  audience event.amount >= 200\n  trigger  on event "purchase"\n  content  "daily"\n  channel  hook\n  goal     visit within 3 days\n}\n',
    );
    repo.env.CHUDA_EVENTS_TOKEN = EVENTS_TOKEN;
    const d = await dispatch(repo, AT);
    expect(d.exitCode, d.stderr).toBe(0);
    expect(summaryOf(d).sent).toBe(40);

    const env = { ...repo.env };
    delete (env as Record<string, string>)["CHUDA_NOW"];
    const served: ServeProcess = await startServe(repo.dir, env, repo.members);
    stops.push(() => served.stop());
    const cb = `${served.url}/callbacks/sms/${SMS_TOKEN}`;
    const ds = fakes.sms.deliveries();
    const reports = ds.map((x, i) => aliyunReport(x, i < 30, x.at + 60_000));
    expect((await pushWithRetry(cb, JSON.stringify(reports), { attempts: 1 })).statuses).toEqual([200]);
    const reply = JSON.stringify([aliyunReply(ds[3]!.phone, "退订", ds[3]!.at + 120_000, 7)]);
    expect((await pushWithRetry(cb, reply, { attempts: 1 })).statuses).toEqual([200]);
    const event = { member: "M000001", name: "purchase", time: Date.now(), props: { amount: 320, store: "A1" } };
    const posted = await fetch(`${served.url}/events`, {
      method: "POST",
      body: JSON.stringify([event]),
      headers: { authorization: `Bearer ${EVENTS_TOKEN}`, "content-type": "application/json" },
    });
    expect(posted.status).toBe(200);
    await waitFor(() => hook.deliveries().length >= 1, 60_000, "the event campaign's webhook delivery");
    expect((await fetch(`${served.url}/healthz`)).status).toBe(200);

    // The event's send is recorded once the webhook answered; a webhook send has no receipt (unconfirmed).
    let s = (await status(repo)) as unknown as DeliveryStatus;
    for (let i = 0; i < 100 && !s.by_campaign.some((r) => r.campaign === "thanks" && r.sent === 1); i++) {
      await new Promise((r) => setTimeout(r, 200));
      s = (await status(repo)) as unknown as DeliveryStatus;
    }
    expect(s.by_campaign.filter((r) => r.campaign === "thanks").map((r) => [r.channel, r.sent])).toEqual([["hook", 1]]);
    expect(s.delivery).toEqual({ delivered: 30, failed: 10, unconfirmed: 1 });
    expect(s.suppressed).toBe(1);
    // Everything went to PostgreSQL: serve, dispatch and the event loop wrote no SQLite ledger.
    expect(existsSync(path.join(repo.dir, ".chuda/state.db"))).toBe(false);
    expect(await query<{ member: string }>(repo.env.CHUDA_LEDGER_URL!, "SELECT member FROM events")).toEqual([{ member: "M000001" }]);

    const list = await run(repo, ["suppress", "list", "--json"]);
    expect(list.exitCode, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { suppressions: { channel: string; source: string }[] }).suppressions).toMatchObject([
      { channel: "sms", source: "sms-reply" },
    ]);
    writeFileSync(path.join(repo.dir, "conversions.csv"), "member_id,kind,code,amount,time\n");
    const rep = await run(repo, ["report", "--conversions", "conversions.csv", "--json"]);
    expect(rep.exitCode, rep.stderr).toBe(0);
    const gift = (JSON.parse(rep.stdout) as { campaigns: { name: string; treated: { delivered: number } }[] }).campaigns.find((c) => c.name === "gift")!;
    expect(gift.treated.delivered).toBe(30);
  });

  it("chuda suppress add|remove on PostgreSQL, with who and why", async () => {
    const members = makeMembers(5, 3, { sms: 1, unsubscribed: 0 });
    const fakes = await startFakes(members);
    stops.push(() => fakes.close());
    const repo = await smsRepo(fakes, members);
    const add = await run(repo, ["suppress", "add", "M000002", "--channel", "sms", "--reason", "complained at the desk", "--by", "li.wei"]);
    expect(add.exitCode, add.stderr).toBe(0);
    expect(((await status(repo)) as unknown as DeliveryStatus).suppressed).toBe(1);
    const remove = await run(repo, ["suppress", "remove", "M000002", "--reason", "asked again", "--by", "wang.fang"]);
    expect(remove.stdout).toBe("lifted 1 suppression of M000002");
    const all = await query<{ actor: string; removed_by: string }>(repo.env.CHUDA_LEDGER_URL!, "SELECT actor, removed_by FROM suppressions");
    expect(all).toEqual([{ actor: "li.wei", removed_by: "wang.fang" }]);
    expect(existsSync(path.join(repo.dir, ".chuda/state.db"))).toBe(false);
  });

  it("receipts pulled at the end of a dispatch run and by chuda receipts pull land in PostgreSQL", async () => {
    const members = makeMembers(20, 4, { sms: 1, unsubscribed: 0 });
    const fakes = await startFakes(members, { sms: { deliveryFailures: { "13900000002": "MK:0004" } } });
    stops.push(() => fakes.close());
    const repo = makeRepo({
      channels: { sms: { ...fakes.channels.sms!, options: { pull_receipts: true } } },
      campaigns: [{ name: "notice", template: "notice", channels: ["sms"], trigger: "once at 2026-12-24 10:00" }],
      members,
    });
    repo.env.CHUDA_LEDGER_URL = await server.database(`serve_${process.pid}_${++databases}`);
    const d = await dispatch(repo, AT);
    expect(d.exitCode, d.stderr).toBe(0);
    expect((summaryOf(d) as unknown as { receipts: unknown }).receipts).toEqual([{ channel: "sms", asked: 20, delivered: 19, failed: 1, unmatched: 0 }]);
    expect(((await status(repo)) as unknown as DeliveryStatus).delivery).toEqual({ delivered: 19, failed: 1, unconfirmed: 0 });
    const again = await run(repo, ["receipts", "pull", "--json"]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({
      channels: [{ channel: "sms", asked: 0, delivered: 0, failed: 0, unmatched: 0 }],
      delivery: { delivered: 19, failed: 1, unconfirmed: 0 },
    });
    expect(await query(repo.env.CHUDA_LEDGER_URL, "SELECT COUNT(*)::int AS n FROM receipts")).toEqual([{ n: 20 }]);
    expect(existsSync(path.join(repo.dir, ".chuda/state.db"))).toBe(false);
  });
});
