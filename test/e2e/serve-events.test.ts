/**
 * Event-triggered campaigns end to end: a `chuda serve --members` process (the /events route and the event
 * loop from the built modules) receives business events over HTTP, and the loopback webhook fake receives the sends.
 * And `POST /events` under kill -9: every event acknowledged, or sent again by its client, is stored exactly once.
 */
import { afterAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { startWebhookFake, type WebhookFake } from "../fakes/webhook.js";
import { makeMembers, makeRepo, run, waitFor, type TestRepo } from "./dispatch-helpers.js";
import { startServe, type ServeProcess } from "../serve/harness.js";
import { hasStackTrace } from "./cli.js";

const TOKEN = "events-test-token-123";
const open: { stop(): Promise<void> }[] = [];
const fakes: WebhookFake[] = [];
afterAll(async () => {
  for (const s of open) await s.stop().catch(() => undefined);
  for (const f of fakes) await f.close();
});

/** A repository with a webhook channel, `events:` and `serve:`, no quiet hours (the test runs on the wall clock). */
function repoWith(hookUrl: string, campaigns: string, serveExtra = ""): TestRepo {
  const repo = makeRepo({
    channels: { hook: { driver: "webhook", baseUrl: hookUrl, options: { url: `${hookUrl}/hook` } } },
    campaigns: [],
    members: makeMembers(20, 3, { unsubscribed: 0 }),
  });
  const yaml = readFileSync(path.join(repo.dir, "chuda.yaml"), "utf8").replace(/^ {2}quiet_hours:.*\n/m, "");
  writeFileSync(
    path.join(repo.dir, "chuda.yaml"),
    yaml + "events:\n  purchase: { amount: number, store: string }\n  registration:\nserve:\n  events_token_env: CHUDA_EVENTS_TOKEN\n" + serveExtra,
  );
  writeFileSync(path.join(repo.dir, "campaigns/test.chuda"), campaigns);
  const env = { ...repo.env, CHUDA_EVENTS_TOKEN: TOKEN };
  delete (env as Record<string, string>)["CHUDA_NOW"]; // the server lives on the wall clock
  return { ...repo, env };
}

const THANKS = `campaign thanks "消费感谢" {
  audience event.amount >= 200 and event.store != "closed"
  trigger  on event "purchase" at most once per 1 day
  content  "daily"
  channel  hook
  goal     visit within 3 days
}
`;

async function post(url: string, body: string, token = TOKEN): Promise<Response> {
  return fetch(`${url}/events`, { method: "POST", body, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } });
}

function eventRows(dir: string): { ident: string; member: string }[] {
  const db = new Database(path.join(dir, ".chuda/state.db"), { readonly: true });
  try {
    return db.prepare(`SELECT ident, member FROM events ORDER BY id`).all() as { ident: string; member: string }[];
  } finally {
    db.close();
  }
}

describe("chuda serve: event-triggered campaigns", () => {
  it("without --members, the database chuda.yaml names (members.source) is the members: an unset variable stops serve at start", async () => {
    const hook = await startWebhookFake({ secret: "whsecret" });
    fakes.push(hook);
    const repo = repoWith(hook.url, THANKS);
    const yaml = path.join(repo.dir, "chuda.yaml");
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace("\nmembers:\n", "\nmembers:\n  source: { url_env: CRM_URL }\n"));
    const r = await run(repo, ["serve", "--port", "0"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/`members\.source\.url_env` names CRM_URL, which is not set/);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it("a purchase reaches the provider once: event.<prop> filters, a repeated post and `at most once per` send nothing more", async () => {
    const hook = await startWebhookFake();
    fakes.push(hook);
    const repo = repoWith(hook.url, THANKS);
    const server = await startServe(repo.dir, repo.env, repo.members);
    open.push(server);
    const now = Date.now();
    const big = { member: "M000001", name: "purchase", time: now, props: { amount: 320, store: "A1" } };
    const small = { member: "M000002", name: "purchase", time: now, props: { amount: 50, store: "A1" } };
    const r = await post(server.url, JSON.stringify([big, small]));
    expect(r.status).toBe(200);
    await waitFor(() => hook.deliveries().length >= 1, 60_000, "the webhook delivery");
    // The same event again (a client retry), and a second purchase the same day: capped by `at most once per 1 day`.
    expect((await post(server.url, JSON.stringify([big]))).status).toBe(200);
    const second = { ...big, time: now + 1000, props: { amount: 500, store: "A2" } };
    expect((await post(server.url, JSON.stringify([second]))).status).toBe(200);
    const db = () => new Database(path.join(repo.dir, ".chuda/state.db"), { readonly: true });
    await waitFor(
      () => {
        const d = db();
        try {
          return (d.prepare(`SELECT COUNT(*) AS n FROM occurrences WHERE campaign = 'thanks'`).get() as { n: number }).n === 3;
        } finally {
          d.close();
        }
      },
      60_000,
      "three occurrences planned",
    );
    const deliveries = hook.deliveries();
    expect(deliveries.map((d) => [d.body["member"], d.body["campaign"]])).toEqual([["M000001", "thanks"]]);
    expect(String(deliveries[0]!.body["occurrence"])).toMatch(/^event:/);
    const d = db();
    try {
      const rows = d.prepare(`SELECT member, state FROM sends WHERE campaign = 'thanks' ORDER BY member`).all();
      expect(rows).toEqual([{ member: "M000001", state: "sent" }]);
    } finally {
      d.close();
    }
    expect(server.stderr()).not.toMatch(/Error/);
  });

  it("kill -9 during event batches: after a restart and the client's retries, every event is stored exactly once", async () => {
    const hook = await startWebhookFake();
    fakes.push(hook);
    const repo = repoWith(hook.url, THANKS);
    let server: ServeProcess = await startServe(repo.dir, repo.env);
    const batches = Array.from({ length: 40 }, (_, b) =>
      Array.from({ length: 50 }, (_, i) => ({
        member: `M${String((b * 50 + i) % 20).padStart(6, "0")}`,
        name: "registration",
        time: 1_780_000_000_000 + b * 50 + i,
      })),
    );
    const acked = new Set<number>();
    // The client: posts every batch; one that got no 200 is sent again (to the restarted server).
    const send = async (b: number) => {
      try {
        const r = await post(server.url, JSON.stringify(batches[b]));
        if (r.status === 200) acked.add(b);
      } catch {
        // connection reset by the kill: sent again below
      }
    };
    const killed = (async () => {
      await waitFor(() => acked.size >= 5, 60_000, "some batches acknowledged");
      await server.kill9();
    })();
    for (let b = 0; b < batches.length; b++) await send(b);
    await killed;
    server = await startServe(repo.dir, repo.env);
    open.push(server);
    for (let round = 0; round < 3 && acked.size < batches.length; round++) for (let b = 0; b < batches.length; b++) if (!acked.has(b)) await send(b);
    expect(acked.size).toBe(batches.length);
    const rows = eventRows(repo.dir);
    expect(rows.length).toBe(batches.length * 50);
    expect(new Set(rows.map((r) => r.ident)).size).toBe(rows.length);
  });

  it("a tracked link: the provider gets <public_url>/r/<id>, a click is recorded and redirected, report counts it as clicked", async () => {
    const hook = await startWebhookFake();
    fakes.push(hook);
    const repo = repoWith(hook.url, THANKS.replace('"daily"', '"tracked"'), "  public_url: https://go.example.com/\n");
    writeFileSync(
      path.join(repo.dir, "templates/tracked.yaml"),
      'webhook:\n  text: "{{name}}您好"\n  url: \'{{track "https://m.example.com/thanks?src=sms"}}\'\n',
    );
    const valid = await run(repo, ["validate"]);
    expect(valid.exitCode, valid.stdout + valid.stderr).toBe(0);
    const server = await startServe(repo.dir, repo.env, repo.members);
    open.push(server);
    const r = await post(server.url, JSON.stringify([{ member: "M000003", name: "purchase", time: Date.now(), props: { amount: 999, store: "B2" } }]));
    expect(r.status).toBe(200);
    await waitFor(() => hook.deliveries().length >= 1, 60_000, "the webhook delivery");
    const url = String((hook.deliveries()[0]!.body["content"] as Record<string, unknown>)["url"]);
    const m = /^https:\/\/go\.example\.com\/r\/([0-9A-Za-z]{12})$/.exec(url);
    expect(m, url).not.toBeNull();
    const click = await fetch(`${server.url}/r/${m![1]}`, { redirect: "manual" });
    expect(click.status).toBe(302);
    expect(click.headers.get("location")).toBe("https://m.example.com/thanks?src=sms");
    expect((await fetch(`${server.url}/r/AAAAAAAAAAAA`, { redirect: "manual" })).status).toBe(404);
    expect((await fetch(`${server.url}/r/short`, { redirect: "manual" })).status).toBe(404);
    writeFileSync(path.join(repo.dir, "conversions.csv"), "member_id,kind,code,amount,time\n");
    const report = await run(repo, ["report", "--conversions", "conversions.csv", "--json"]);
    expect(report.exitCode, report.stderr).toBe(0);
    const thanks = (JSON.parse(report.stdout) as { campaigns: { name: string; treated: Record<string, unknown> }[] }).campaigns.find(
      (c) => c.name === "thanks",
    )!;
    expect(thanks.treated).toMatchObject({ members: 1, opened: 1, opened_by_clicks: true });
    const text = await run(repo, ["report", "--conversions", "conversions.csv"]);
    expect(text.stdout).toMatch(/thanks\s+1\s+–\s+1 clicked/);
  });

  it("validate: `{{track}}` needs serve.public_url and is refused in SMS (providers refuse links in variables)", async () => {
    const repo = repoWith("http://127.0.0.1:9", THANKS.replace('"daily"', '"tracked"').replace("channel  hook", "channel  hook"));
    writeFileSync(
      path.join(repo.dir, "templates/tracked.yaml"),
      'webhook:\n  url: \'{{track "https://m.example.com/x"}}\'\nsms:\n  sign: "测试广场"\n  code: "SMS_1"\n  body: "点击${u}"\n  params: { u: \'{{track "https://m.example.com/x"}}\' }\n',
    );
    const r = await run(repo, ["validate", "--format", "json"]);
    expect(r.exitCode).toBe(1);
    const codes = (JSON.parse(r.stdout) as { diagnostics: { code: string }[] }).diagnostics.map((d) => d.code);
    expect(codes).toEqual(expect.arrayContaining(["CH5105", "CH5107"]));
    expect(hasStackTrace(r.stderr)).toBe(false);
  });
});
