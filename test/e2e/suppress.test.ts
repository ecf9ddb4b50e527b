/**
 * Suppression end to end: opt-outs added by hand (`chuda suppress`) and pushed by a provider (an SMS reply to
 * `chuda serve`) leave the member out on those channels in simulate and dispatch, and are counted and listed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { hasStackTrace } from "./cli.js";
import { dispatch, makeMembers, makeRepo, run, startFakes, status, type Fakes, type TestRepo } from "./dispatch-helpers.js";
import { startServe } from "./serve-helpers.js";
import { aliyunReply, pushWithRetry } from "../fakes/push.js";

const TOKEN = "sms_cb_token_0123";

describe("chuda suppress, and suppressions in planning", () => {
  let fakes: Fakes;
  let repo: TestRepo;

  beforeAll(async () => {
    const members = makeMembers(12, 5, { sms: 1, oa: 1, unsubscribed: 0 });
    fakes = await startFakes(members);
    repo = makeRepo({
      channels: { sms: fakes.channels.sms!, template_message: fakes.channels.template_message! },
      campaigns: [{ name: "notice", template: "notice", channels: ["sms", "template_message"], trigger: "once at 2026-12-24 10:00" }],
      members,
    });
    const file = path.join(repo.dir, "chuda.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("access_key_secret: ALIYUN_SK", "access_key_secret: ALIYUN_SK, callback_token: SMS_CB_TOKEN"));
    repo.env.SMS_CB_TOKEN = TOKEN;
  }, 60_000);

  afterAll(async () => {
    await fakes?.close();
  });

  it("refuses a suppression without a reason or with an unknown channel, in one line", async () => {
    const r = await run(repo, ["suppress", "add", "M000001", "--by", "alice"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/needs a reason/);
    const c = await run(repo, ["suppress", "add", "M000001", "--channel", "email", "--reason", "x", "--by", "alice"]);
    expect(c.exitCode).toBe(2);
    expect(c.stderr).toMatch(/no channel email/);
    expect(hasStackTrace(r.stderr + c.stderr)).toBe(false);
  });

  it("leaves suppressed members out on their channels (hand-made and an SMS opt-out reply), counting them", async () => {
    expect((await run(repo, ["suppress", "add", "M000001", "--channel", "sms", "--reason", "complaint by phone", "--by", "alice"])).exitCode).toBe(0);
    expect((await run(repo, ["suppress", "add", "M000002", "--reason", "asked to stop everything", "--by", "bob"])).exitCode).toBe(0);
    const served = await startServe(repo);
    try {
      const r = await pushWithRetry(`${served.url}/callbacks/sms/${TOKEN}`, JSON.stringify([aliyunReply("13900000003", "TD", Date.now(), 1)]), { attempts: 1 });
      expect(r.statuses).toEqual([200]);
    } finally {
      await served.stop();
    }
    const sim = await run(repo, ["simulate", "--members", repo.members, "--from", "2026-12-24", "--to", "2026-12-24", "--json"]);
    expect(sim.exitCode, sim.stderr).toBe(0);
    const s = JSON.parse(sim.stdout);
    expect(s.suppressed).toBe(3);
    expect(s.campaigns[0].by_channel).toEqual({ sms: 9, template_message: 2 });
    const d = await dispatch(repo, "2026-12-24 10:30");
    expect(d.exitCode, d.stderr).toBe(0);
    const got = fakes.deliveries().map((x) => `${x.member}:${x.channel}`);
    expect(got).toContain("M000001:template_message");
    expect(got).toContain("M000003:template_message");
    expect(got.filter((x) => x.startsWith("M000002:"))).toEqual([]);
    expect(got.filter((x) => x.endsWith(":sms"))).toHaveLength(9);
    expect(((await status(repo)) as unknown as { suppressed: number }).suppressed).toBe(3);
  });

  it("lists who and why, and lifts a suppression with who and why", async () => {
    const l = await run(repo, ["suppress", "list", "--json"]);
    const rows = JSON.parse(l.stdout).suppressions as {
      member: string | null;
      address: string | null;
      channel: string;
      source: string;
      reason: string;
      by: string;
    }[];
    expect(rows.map((r) => [r.member ?? r.address, r.channel, r.source, r.by]).sort()).toEqual([
      ["139****0003", "sms", "sms-reply", "serve"],
      ["M000001", "sms", "manual", "alice"],
      ["M000002", "*", "manual", "bob"],
    ]);
    const rm = await run(repo, ["suppress", "remove", "M000001", "--reason", "complaint withdrawn", "--by", "carol"]);
    expect(rm.exitCode, rm.stderr).toBe(0);
    expect((await run(repo, ["suppress", "remove", "M000001", "--reason", "again", "--by", "carol"])).exitCode).toBe(1);
    const all = await run(repo, ["suppress", "list", "--all"]);
    expect(all.stdout).toMatch(/complaint withdrawn/);
    expect(all.stdout).toMatch(/carol/);
    expect(JSON.parse((await run(repo, ["suppress", "list", "--json"])).stdout).suppressions).toHaveLength(2);
  });
});
