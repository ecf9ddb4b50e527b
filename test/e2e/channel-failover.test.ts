/**
 * Channels per run, end to end on the built CLI: credentials are needed only for channels with due sends (and
 * `--only` narrows that), a stopped channel says why, and `failover:` moves a stopped channel's due sends to a
 * channel of the same kind, its tracked links bound to the send that carries them.
 */
import { afterAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { startAliyunSmsFake, type AliyunSmsFake } from "../fakes/aliyun-sms.js";
import { startWebhookFake } from "../fakes/webhook.js";
import { startServe } from "../serve/harness.js";
import { hasStackTrace } from "./cli.js";
import { dispatch, ledgerRows, makeMembers, makeRepo, run, startFakes, summaryOf, type CampaignSpec, type Fakes } from "./dispatch-helpers.js";

const AT = "2026-12-24 10:30";
const ONCE = "once at 2026-12-24 10:00";
const GIFT: CampaignSpec = { name: "gift", template: "gift", channels: ["wecom", "sms"], trigger: ONCE, with: { coupon: "XMAS50", amount: 50 } };
const NOTICE: CampaignSpec = { name: "notice", template: "notice", channels: ["template_message"], trigger: ONCE };
const FLAT: CampaignSpec = { name: "flat", template: "flat", channels: ["sms"], trigger: ONCE, with: { coupon: "VIP300" } };

const open: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(open.map((f) => f.close()));
});

async function fakesFor(n: number, seed: number): Promise<{ fakes: Fakes; members: ReturnType<typeof makeMembers> }> {
  const members = makeMembers(n, seed);
  const fakes = await startFakes(members);
  open.push(fakes);
  return { fakes, members };
}

describe("dispatch needs credentials only for channels with due sends", () => {
  it("runs when channels nobody sends on this run have no credentials in the environment", async () => {
    const { fakes, members } = await fakesFor(60, 3);
    const repo = makeRepo({ channels: fakes.channels, campaigns: [NOTICE], members });
    for (const k of ["WECOM_CORP_ID", "WECOM_SECRET", "ALIYUN_AK", "ALIYUN_SK", "HOOK_SECRET", "MP_APP_ID", "MP_APP_SECRET"]) delete repo.env[k];
    const r = await dispatch(repo, AT);
    expect(r.exitCode, r.stderr).toBe(0);
    const s = summaryOf(r);
    expect(s.sent).toBeGreaterThan(0);
    expect(s.sent).toBe(fakes.wechat.deliveries().length);
  });

  it("`--only` narrows it to the selected campaigns; without it, the due channel lacking credentials stops and says so", async () => {
    const { fakes, members } = await fakesFor(60, 4);
    const repo = makeRepo({ channels: fakes.channels, campaigns: [GIFT, NOTICE], members });
    delete repo.env.WECOM_SECRET;
    const only = await dispatch(repo, AT, ["--only", "notice"]);
    expect(only.exitCode, only.stderr).toBe(0);
    expect(summaryOf(only).sent).toBeGreaterThan(0);

    const all = await run(repo, ["dispatch", "--members", repo.members, "--at", AT]);
    expect(all.exitCode).toBe(1);
    expect(hasStackTrace(all.stderr)).toBe(false);
    expect(all.stdout).toContain("channel wecom stopped for this run (credentials missing)");
    expect(all.stdout + all.stderr).toContain("WECOM_SECRET");
    expect(all.stdout).toContain("still pending (wecom stopped: credentials missing;");
    expect(fakes.wecom.state.createCalls).toEqual([]);
    // Pending, not dropped: with the secret back, the next run sends them.
    repo.env.WECOM_SECRET = "wecom_test_secret_0123456789";
    const again = await dispatch(repo, "2026-12-24 10:40");
    expect(again.exitCode, again.stderr).toBe(0);
    expect(
      ledgerRows(repo)
        .filter((x) => x.channel === "wecom")
        .every((x) => x.state === "queued"),
    ).toBe(true);
  });
});

describe("failover: a stopped channel's due sends go to the named channel of the same kind", () => {
  it("refused credentials on one SMS provider: the sends go out through the other, and the stop says why", async () => {
    const { fakes, members } = await fakesFor(80, 5);
    // The primary SMS account knows another key: every call is refused (InvalidAccessKeyId.NotFound).
    const refusing: AliyunSmsFake = await startAliyunSmsFake({ accessKeys: { otherid: "othersecret" }, receiptDelayMs: 0 });
    open.push(refusing);
    const repo = makeRepo({
      channels: { sms: { driver: "aliyun-sms", baseUrl: refusing.url }, sms_backup: { driver: "aliyun-sms", baseUrl: fakes.sms.url } },
      campaigns: [FLAT],
      members,
    });
    const yaml = path.join(repo.dir, "chuda.yaml");
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace("  sms:\n    driver: aliyun-sms\n", "  sms:\n    driver: aliyun-sms\n    failover: sms_backup\n"));
    const v = await run(repo, ["validate"]);
    expect(v.exitCode, v.stdout + v.stderr).toBe(0);

    const r = await run(repo, ["dispatch", "--members", repo.members, "--at", AT]);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(r.stdout).toMatch(/channel sms stopped for this run \(credentials refused\): InvalidAccessKeyId/);
    const rows = ledgerRows(repo);
    const primary = rows.filter((x) => x.channel === "sms");
    const backup = rows.filter((x) => x.channel === "sms_backup");
    expect(primary.length).toBeGreaterThan(0);
    expect(primary.every((x) => x.state === "failed" && x.error_code === "failover")).toBe(true);
    expect(backup.map((x) => x.member).sort()).toEqual(primary.map((x) => x.member).sort());
    expect(backup.every((x) => x.state === "sent")).toBe(true);
    expect(fakes.sms.deliveries().length).toBe(primary.length);
    expect(r.stdout).toContain(`${primary.length} due sends went to sms_backup`);
  });

  it("validate refuses a failover to an unknown channel, to another kind, and a cycle", async () => {
    const { fakes, members } = await fakesFor(10, 6);
    const repo = makeRepo({ channels: { sms: fakes.channels.sms!, sms2: fakes.channels.sms!, wecom: fakes.channels.wecom! }, campaigns: [FLAT], members });
    const yaml = path.join(repo.dir, "chuda.yaml");
    const base = readFileSync(yaml, "utf8");
    const withFailover = (a: string, c?: string) => {
      let t = base.replace("  sms:\n    driver: aliyun-sms\n", `  sms:\n    driver: aliyun-sms\n    failover: ${a}\n`);
      if (c) t = t.replace("  sms2:\n    driver: aliyun-sms\n", `  sms2:\n    driver: aliyun-sms\n    failover: ${c}\n`);
      return t;
    };
    const cases: [string, RegExp][] = [
      [withFailover("sms3"), /fails over to `sms3`, which is not another channel/],
      [withFailover("wecom"), /fails over to `wecom`, a channel of another kind/],
      [withFailover("sms2", "sms"), /failover channels form a cycle: sms → sms2 → sms/],
    ];
    for (const [text, expected] of cases) {
      writeFileSync(yaml, text);
      const v = await run(repo, ["validate"]);
      expect(v.exitCode, v.stdout).toBe(1);
      expect(hasStackTrace(v.stderr)).toBe(false);
      expect(v.stdout + v.stderr).toMatch(expected);
    }
  });
});

describe("a tracked link in the content a failover send renders", () => {
  it("becomes <public_url>/r/<id> of the failover send, and a click on it is recorded for that send", async () => {
    const members = makeMembers(6, 8, { unsubscribed: 0 });
    const [down, backup] = [await startWebhookFake(), await startWebhookFake()];
    open.push(down, backup);
    down.down(401); // refused credentials: the channel stops, its due sends move to hook_b
    const repo = makeRepo({
      channels: {
        hook: { driver: "webhook", options: { url: `${down.url}/hook` } },
        hook_b: { driver: "webhook", options: { url: `${backup.url}/hook` } },
      },
      campaigns: [{ name: "tracked", template: "tracked", channels: ["hook"], trigger: ONCE }],
      members,
    });
    const yaml = path.join(repo.dir, "chuda.yaml");
    const text = readFileSync(yaml, "utf8").replace("  hook:\n    driver: webhook\n", "  hook:\n    driver: webhook\n    failover: hook_b\n");
    writeFileSync(yaml, text + "serve:\n  public_url: https://go.example.com\n");
    writeFileSync(path.join(repo.dir, "templates/tracked.yaml"), 'webhook:\n  text: "{{name}}您好"\n  url: \'{{track "https://m.example.com/sale"}}\'\n');
    const d = await dispatch(repo, AT);
    expect(d.stdout + d.stderr).toContain("hook_b");
    expect(backup.deliveries()).toHaveLength(members.length);

    const db = new Database(path.join(repo.dir, ".chuda/state.db"), { readonly: true });
    const links = db.prepare(`SELECT id, send_key FROM links`).all() as { id: string; send_key: string }[];
    db.close();
    const urls = backup.deliveries().map((x) => ({ key: String(x.body["key"]), url: String((x.body["content"] as Record<string, unknown>)["url"]) }));
    for (const u of urls) {
      const m = /^https:\/\/go\.example\.com\/r\/([0-9A-Za-z]{12})$/.exec(u.url);
      expect(m, u.url).not.toBeNull();
      // The id is the failover send's own, not the primary's (whose placeholder ids were bound at planning).
      expect(links.find((l) => l.id === m![1])?.send_key).toMatch(/\|hook_b$/);
    }
    expect(new Set(urls.map((u) => u.url)).size).toBe(members.length);

    const server = await startServe(repo.dir, repo.env);
    try {
      const id = /\/r\/(\w{12})$/.exec(urls[0]!.url)![1]!;
      const click = await fetch(`${server.url}/r/${id}`, { redirect: "manual" });
      expect(click.status).toBe(302);
      expect(click.headers.get("location")).toBe("https://m.example.com/sale");
    } finally {
      await server.stop();
    }
    const after = new Database(path.join(repo.dir, ".chuda/state.db"), { readonly: true });
    const clicks = after.prepare(`SELECT send_key FROM clicks`).all() as { send_key: string }[];
    after.close();
    expect(clicks).toHaveLength(1);
    expect(clicks[0]!.send_key).toMatch(/\|hook_b$/);
  });
});
