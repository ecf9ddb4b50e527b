/**
 * `chuda dispatch` end to end: the built CLI against the loopback fakes of the providers (test/fakes), each test in
 * its own small repository. What a fake recorded as accepted is the truth about what went out; the ledger and
 * `chuda status --json` must agree with it recipient by recipient.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { fault } from "../fakes/common.js";
import { BIN, hasStackTrace } from "./cli.js";
import {
  cmc,
  dispatch,
  duplicates,
  ledgerRows,
  makeMembers,
  makeRepo,
  run,
  startFakes,
  status,
  summaryOf,
  waitFor,
  type CampaignSpec,
  type Delivery,
  type Fakes,
  type FakeOptions,
  type Member,
  type TestRepo,
} from "./dispatch-helpers.js";

const AT = "2026-12-24 10:30";
const ONCE = "once at 2026-12-24 10:00";

const GIFT: CampaignSpec = {
  name: "gift",
  template: "gift",
  channels: ["wecom", "template_message", "sms"],
  trigger: ONCE,
  holdout: 10,
  with: { coupon: "XMAS50", amount: 50 },
};
const NOTICE: CampaignSpec = { name: "notice", template: "notice", channels: ["template_message", "subscribe"], trigger: ONCE };
const PING: CampaignSpec = { name: "ping", template: "daily", channels: ["hook"], trigger: ONCE };
const DAILY: CampaignSpec = { name: "daily", template: "daily", channels: ["template_message"], trigger: "every day at 10:00" };

const key = (d: Delivery) => `${d.campaign}|${d.member}|${d.channel}`;
const sorted = (xs: Iterable<string>) => [...xs].sort();

/** What a dry run says would go out, as `campaign|member|channel`. */
async function dryRunList(repo: TestRepo): Promise<string[]> {
  const r = await dispatch(repo, AT, ["--dry-run"]);
  expect(r.exitCode, r.stderr).toBe(0);
  const j = JSON.parse(r.stdout) as { dry_run: boolean; sends: { campaign: string; member: string; channel: string }[] };
  expect(j.dry_run).toBe(true);
  return sorted(j.sends.map(cmc));
}

const open: Fakes[] = [];
async function setup(n: number, seed: number, campaigns: CampaignSpec[], opts: FakeOptions = {}, channelOptions: Record<string, Record<string, unknown>> = {}) {
  const members = makeMembers(n, seed);
  const fakes = await startFakes(members, opts);
  open.push(fakes);
  const channels = Object.fromEntries(
    Object.entries(fakes.channels).map(([k, v]) => [k, { ...v, ...(channelOptions[k] ? { options: channelOptions[k] } : {}) }]),
  );
  const repo = makeRepo({ channels, campaigns, members });
  return { members, fakes, repo };
}
afterAll(async () => {
  await Promise.all(open.map((f) => f.close()));
});

/**
 * No recipient accepted twice by any fake; every ledger row in `sent`/`queued` was accepted by its fake; and every
 * accepted recipient is `sent`/`queued` in the ledger, or `unknown` (the provider took it, its answer was lost).
 */
function expectLedgerMatchesFakes(repo: TestRepo, fakes: Fakes) {
  const delivered = fakes.deliveries().map(key);
  expect(duplicates(delivered), "recipients a fake accepted twice").toEqual([]);
  const rows = ledgerRows(repo);
  const done = rows.filter((r) => r.state === "sent" || r.state === "queued").map(cmc);
  // A WeCom task nobody confirmed before expiry is canceled: its sends are `expired`, never delivered.
  const unknown = new Set(rows.filter((r) => r.state === "unknown" || r.state === "expired").map(cmc));
  const got = new Set(delivered);
  expect(
    done.filter((k) => !got.has(k)),
    "sent in the ledger, never accepted by the fake",
  ).toEqual([]);
  const doneSet = new Set(done);
  expect(
    delivered.filter((k) => !doneSet.has(k) && !unknown.has(k)),
    "accepted by the fake, not sent or unknown in the ledger",
  ).toEqual([]);
  return { delivered, rows };
}

describe("chuda dispatch: a full run, then the same moment again", () => {
  let s: Awaited<ReturnType<typeof setup>>;
  let planned: string[];

  beforeAll(async () => {
    s = await setup(300, 11, [GIFT, NOTICE, PING]);
    planned = await dryRunList(s.repo);
  });

  it("sends every planned send exactly once; status agrees; held-out members are recorded and never sent", async () => {
    expect(planned.length).toBeGreaterThan(600); // three campaigns over 300 members, most reachable
    const r = await dispatch(s.repo, AT);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    expect(hasStackTrace(r.stderr)).toBe(false);
    const sum = summaryOf(r);

    // What went out is what the dry run listed, member for member, and nothing twice.
    const { delivered, rows } = expectLedgerMatchesFakes(s.repo, s.fakes);
    expect(sorted(delivered)).toEqual(planned);
    expect(sum.planned).toBe(planned.length);
    expect(sum.sent + sum.queued).toBe(planned.length);
    expect(sum.failed).toBe(0);
    expect(sum.unknown).toBe(0);

    // WeCom tasks wait for the staff member: queued, one per accepted customer.
    expect(s.fakes.wecom.deliveries().length).toBeGreaterThan(0);
    expect(rows.filter((x) => x.channel === "wecom").every((x) => x.state === "queued")).toBe(true);
    expect(rows.filter((x) => x.channel !== "wecom").every((x) => x.state === "sent" || x.state === "held_out")).toBe(true);
    expect(s.fakes.sms.deliveries().length).toBeGreaterThan(0);
    expect(s.fakes.wechat.subscribeDeliveries().length).toBeGreaterThan(0);
    expect(s.fakes.hook.deliveries().length).toBe(s.members.filter((m) => !m.unsubscribed).length);
    expect(s.fakes.hook.rejected()).toEqual([]); // every POST carried a valid signature

    // The first reachable channel is used: members with a WeCom id get the gift there, the others on the 服务号.
    const byMember = new Map(s.members.map((m) => [m.member_id, m]));
    for (const d of s.fakes.deliveries().filter((x) => x.campaign === "gift")) {
      const m = byMember.get(d.member)!;
      expect(d.channel).toBe(m.wecom_external_userid ? "wecom" : m.openid ? "template_message" : "sms");
    }
    // Policy exclude: unsubscribed members receive nothing.
    const unsub = new Set(s.members.filter((m) => m.unsubscribed).map((m) => m.member_id));
    expect(unsub.size).toBeGreaterThan(0);
    expect(s.fakes.deliveries().filter((d) => unsub.has(d.member))).toEqual([]);

    // Held-out members: recorded in the ledger, never sent on any channel.
    const held = rows.filter((x) => x.state === "held_out");
    expect(held.length).toBeGreaterThan(5);
    expect(held.every((x) => x.campaign === "gift")).toBe(true);
    const heldSet = new Set(held.map((x) => x.member));
    expect(s.fakes.deliveries().filter((d) => d.campaign === "gift" && heldSet.has(d.member))).toEqual([]);
    expect(sum.held_out).toBe(held.length);

    const st = await status(s.repo);
    expect(st.sends).toMatchObject({ planned: 0, in_flight: 0, failed: 0, unknown: 0, held_out: held.length });
    expect(st.sends.sent + st.sends.queued).toBe(delivered.length);
    expect(st.sends.queued).toBe(s.fakes.wecom.deliveries().length);
    expect(st.runs.length).toBe(1);
    expect(existsSync(path.join(s.repo.dir, ".chuda/dispatch.lock"))).toBe(false);
  });

  it("a second run at the same moment sends nothing new", async () => {
    const before = s.fakes.deliveries().length;
    const requests = s.fakes.wechatRequests();
    const r = await dispatch(s.repo, AT);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    const sum = summaryOf(r);
    expect(sum.planned).toBe(0);
    expect(sum.sent + sum.queued).toBe(0);
    expect(s.fakes.deliveries().length).toBe(before);
    expect(s.fakes.wechatRequests()).toBe(requests);
    const st = await status(s.repo);
    expect(st.runs.length).toBe(2);
    expect(st.sends.sent + st.sends.queued).toBe(before);
  });

  it("a later run sends only the new occurrence of an every-day campaign", async () => {
    // Add the daily campaign: at 2026-12-25 10:30 its 12-25 occurrence is due; 12-24's was planned by no run and is
    // within the catch-up window of neither moment here, so it is reported missed, never sent.
    const { writeFileSync, readFileSync: read } = await import("node:fs");
    const file = path.join(s.repo.dir, "campaigns/test.chuda");
    const { campaignText } = await import("./dispatch-helpers.js");
    writeFileSync(file, read(file, "utf8") + "\n" + campaignText(DAILY));
    const before = new Set(s.fakes.deliveries().map(key));
    const r = await dispatch(s.repo, "2026-12-25 10:30");
    // A missed occurrence needs a look: exit 1.
    expect(r.exitCode, r.stderr + r.stdout).toBe(1);
    const sum = summaryOf(r);
    const fresh = s.fakes.deliveries().filter((d) => !before.has(key(d)));
    expect(fresh.length).toBeGreaterThan(0);
    expect(new Set(fresh.map((d) => d.campaign))).toEqual(new Set(["daily"]));
    expect(duplicates(fresh.map(key))).toEqual([]);
    expect(sum.sent).toBe(fresh.length);
    expect((sum.missed as { campaign: string; occurrence: string }[]).some((m) => m.campaign === "daily" && m.occurrence.startsWith("2026-12-24"))).toBe(true);
    expectLedgerMatchesFakes(s.repo, s.fakes);
    // The gift's WeCom tasks, never confirmed by staff, expired 24 hours after 12-24 10:00: canceled.
    const wecom = ledgerRows(s.repo).filter((x) => x.channel === "wecom");
    expect(wecom.length).toBeGreaterThan(0);
    expect(wecom.every((x) => x.state === "expired")).toBe(true);
    expect([...s.fakes.wecom.state.tasks.values()].every((t) => t.canceled)).toBe(true);
  });
});

describe("chuda dispatch --dry-run", () => {
  it("writes nothing, sends nothing, and lists what simulate --at --plan lists, member for member", async () => {
    const s = await setup(200, 23, [GIFT, NOTICE]);
    const json = await dispatch(s.repo, AT, ["--dry-run"]);
    const plain = await run(s.repo, ["dispatch", "--members", s.repo.members, "--at", AT, "--dry-run"]);
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/Dry run: [\d,]+ sends would go out/);
    expect(plain.stdout).not.toMatch(/139\d{8}/); // no unmasked phone number
    expect(json.exitCode, json.stderr).toBe(0);
    const list = sorted((JSON.parse(json.stdout).sends as { campaign: string; member: string; channel: string }[]).map(cmc));
    expect(list.length).toBeGreaterThan(100);
    expect(duplicates(list)).toEqual([]);

    expect(existsSync(path.join(s.repo.dir, ".chuda/state.db"))).toBe(false);
    expect(s.fakes.deliveries()).toEqual([]);
    expect(s.fakes.wechatRequests()).toBe(0);
    expect(s.fakes.wecom.state.createCalls).toEqual([]);

    const plan = path.join(s.repo.dir, "plan.csv");
    const sim = await run(s.repo, ["simulate", "--members", s.repo.members, "--at", AT, "--plan", plan, "--json"]);
    expect(sim.exitCode, sim.stderr).toBe(0);
    const lines = readFileSync(plan, "utf8").trim().split("\n");
    expect(lines[0]).toBe("campaign,occurrence,member,channel,address,send_at,send_at_local,reason");
    const simSends = lines
      .slice(1)
      .map((l) => l.split(","))
      .filter((c) => c[3] !== "")
      .map((c) => `${c[0]}|${c[2]}|${c[3]}`);
    expect(sorted(simSends)).toEqual(list);
    // Held-out rows are in the plan with their reason, and not in the dry run's list.
    const held = lines.slice(1).filter((l) => l.endsWith(",held_out"));
    expect(held.length).toBeGreaterThan(0);
    expect(existsSync(path.join(s.repo.dir, ".chuda/state.db"))).toBe(false);
  });
});

describe("chuda dispatch under provider trouble", () => {
  it("completes with ~5% injected faults (retries, reconciles), possibly over several runs, nothing sent twice", async () => {
    // Only drivers whose ambiguous answers can be reconciled: WeCom's task list, the template message's client_msg_id,
    // Aliyun's QuerySendDetails by OutId.
    // The webhook receiver dedupes on the key, so its driver simply sends again.
    const campaigns = [GIFT, { ...NOTICE, channels: ["template_message", "sms"] }, PING];
    const s = await setup(300, 31, campaigns, {
      wecom: { faultRate: 0.05, seed: 5 },
      wechat: { faultRate: 0.05, seed: 6, slowMs: 300 },
      sms: { faultRate: 0.05, seed: 7, slowMs: 300 },
      // Not a seeded rate for the webhook: the shared fault menu's `badJson` answers 200 without recording, which in
      // the webhook protocol means "accepted" (a fake artefact, reported). Scripted transport faults instead.
      hook: {
        script: [
          fault.http(503),
          fault.reset(),
          fault.acceptThenDrop(),
          fault.slow(300),
          fault.http(500),
          fault.reset(),
          fault.acceptThenDrop(),
          fault.http(502),
        ],
      },
    });
    const planned = await dryRunList(s.repo);
    let runs = 0;
    let retries = 0;
    for (; runs < 4; runs++) {
      const r = await dispatch(s.repo, AT);
      expect([0, 1], r.stderr + r.stdout).toContain(r.exitCode);
      retries += summaryOf(r).retries;
      const st = await status(s.repo);
      if (st.sends.planned === 0) break;
    }
    // Faults did happen (WeCom and Aliyun see few calls: one per task or per 100 numbers, so maybe none there).
    expect(s.fakes.wechat.faults().length).toBeGreaterThan(5);
    expect(s.fakes.hook.faults().length).toBe(8);
    expect(s.fakes.hook.received()).toBeGreaterThan(s.fakes.hook.deliveries().length); // accept-then-drop re-sent, deduped
    const { delivered, rows } = expectLedgerMatchesFakes(s.repo, s.fakes);
    const st = await status(s.repo);
    expect(st.sends.planned).toBe(0);
    expect(st.sends.in_flight).toBe(0);
    expect(st.sends.failed).toBe(0);
    // Whatever the provider could not confirm is reported unknown, listed by status, and was not delivered.
    const unknown = rows.filter((x) => x.state === "unknown").map(cmc);
    expect(st.sends.unknown).toBe(unknown.length);
    expect(sorted(st.unknown.map(cmc))).toEqual(sorted(unknown));
    expect(sorted(new Set([...delivered, ...unknown]))).toEqual(planned);
    expect(unknown.length).toBeLessThanOrEqual(Math.ceil(planned.length * 0.02));
    expect(retries + rows.filter((x) => x.attempts > 1).length).toBeGreaterThan(0);
  });

  it("keeps the access token in the ledger: a later run uses it instead of fetching another", async () => {
    // `/cgi-bin/token` issues a new token on every fetch (and invalidates the one other processes hold).
    const first: CampaignSpec = { name: "first", template: "daily", channels: ["template_message"], trigger: ONCE };
    const next: CampaignSpec = { name: "next", template: "daily", channels: ["template_message"], trigger: "once at 2026-12-25 10:00" };
    const s = await setup(20, 43, [first, next], {}, { template_message: { token_endpoint: "token" } });
    const sentPerRun: number[] = [];
    for (const at of ["2026-12-24 10:30", "2026-12-25 10:30"]) {
      const r = await dispatch(s.repo, at);
      expect(r.exitCode, r.stderr + r.stdout).toBe(0);
      sentPerRun.push(s.fakes.wechat.deliveries().length - sentPerRun.reduce((a, b) => a + b, 0));
    }
    expect(
      sentPerRun.every((n) => n > 0),
      `template messages per run: ${sentPerRun.join(", ")}`,
    ).toBe(true);
    expect(s.fakes.wechat.state.tokens.issued).toHaveLength(1);
  });

  it("refreshes tokens that expire mid-run and completes", async () => {
    const s = await setup(250, 41, [GIFT, NOTICE], { wecom: { tokenMaxUses: 2 }, wechat: { tokenMaxUses: 150 } });
    const planned = await dryRunList(s.repo);
    const r = await dispatch(s.repo, AT);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    const { delivered } = expectLedgerMatchesFakes(s.repo, s.fakes);
    expect(sorted(delivered)).toEqual(planned);
    // The tokens did run out mid-run, and were refreshed.
    expect(s.fakes.wechat.state.tokens.issued.length).toBeGreaterThan(2);
    expect(s.fakes.wecom.state.tokens.issued.length).toBeGreaterThan(1);
    // Each token served at most its 150 uses: sends were answered 42001 and retried with a fresh one.
    expect(s.fakes.wechat.state.calls.length).toBeGreaterThan(150 * 2);
    const st = await status(s.repo);
    expect(st.sends).toMatchObject({ planned: 0, in_flight: 0, failed: 0, unknown: 0 });
  });

  it("members a provider rejects permanently fall back to the next channel of their campaign", async () => {
    const members = makeMembers(240, 53);
    const pick = (f: (m: Member) => boolean, n: number, not: Member[] = []) => members.filter((m) => !m.unsubscribed && !not.includes(m) && f(m)).slice(0, n);
    const all = (m: Member) => !!m.openid && !!m.mp_openid && m.sms_opt_in;
    // WeCom: not a customer (fail_list) → 服务号. 服务号: 43004 unfollowed → SMS (gift) or the mini-program (notice).
    const wecomBad = pick((m) => !!m.wecom_external_userid && all(m), 6);
    const oaBad = pick((m) => !m.wecom_external_userid && all(m), 6);
    // Rejected everywhere: gift goes 服务号 → SMS and fails twice; notice goes 服务号 → mini-program and fails twice.
    const dead = pick((m) => !m.wecom_external_userid && all(m), 1, oaBad);
    expect([wecomBad.length, oaBad.length, dead.length]).toEqual([6, 6, 1]);
    const d = dead[0]!;
    const fakes = await startFakes(members, {
      wecom: { recipientErrors: Object.fromEntries(wecomBad.map((m) => [m.wecom_external_userid, 84061])) },
      wechat: { recipientErrors: { ...Object.fromEntries([...oaBad, d].map((m) => [m.openid, 43004])), [d.mp_openid]: 40003 } },
      sms: { recipientErrors: { [d.mobile]: "isv.MOBILE_NUMBER_ILLEGAL" } },
    });
    open.push(fakes);
    const repo = makeRepo({ channels: fakes.channels, campaigns: [{ ...GIFT, holdout: undefined }, NOTICE], members });
    const planned = new Set(await dryRunList(repo));
    const r = await dispatch(repo, AT);
    // Members' own failures (an invalid number, a non-follower) are listed, but the run is done: exit 0.
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    expect(summaryOf(r).failed).toBeGreaterThan(0);
    const sum = summaryOf(r);
    const { delivered, rows } = expectLedgerMatchesFakes(repo, fakes);
    const got = new Set(delivered);
    const state = new Map(rows.map((x) => [cmc(x), x]));

    for (const m of wecomBad) {
      expect(planned.has(`gift|${m.member_id}|wecom`)).toBe(true);
      expect(state.get(`gift|${m.member_id}|wecom`)?.state).toBe("failed");
      expect(got.has(`gift|${m.member_id}|wecom`)).toBe(false);
      // The 服务号 fake got them instead.
      expect(
        fakes.wechat.deliveries().some((x) => x.openid === m.openid && x.templateId === "TM_GIFT"),
        m.member_id,
      ).toBe(true);
    }
    for (const m of oaBad) {
      expect(planned.has(`gift|${m.member_id}|template_message`)).toBe(true);
      expect(planned.has(`notice|${m.member_id}|template_message`)).toBe(true);
      expect(state.get(`gift|${m.member_id}|template_message`)).toMatchObject({ state: "failed", error_code: "43004" });
      expect(state.get(`notice|${m.member_id}|template_message`)).toMatchObject({ state: "failed", error_code: "43004" });
      expect(
        fakes.sms.deliveries().some((x) => x.phone === m.mobile && x.template === "SMS_2001"),
        m.member_id,
      ).toBe(true);
      expect(
        fakes.wechat.subscribeDeliveries().some((x) => x.openid === m.mp_openid && x.templateId === "ST_NOTICE"),
        m.member_id,
      ).toBe(true);
    }
    // Rejected on every channel: failed on each, nothing delivered.
    expect(delivered.filter((k) => k.includes(`|${d.member_id}|`))).toEqual([]);
    for (const k of ["gift|template_message", "gift|sms", "notice|template_message", "notice|subscribe"]) {
      const [c, ch] = k.split("|");
      expect(state.get(`${c}|${d.member_id}|${ch}`)?.state, k).toBe("failed");
    }

    expect(sum.fallbacks).toBe(wecomBad.length + oaBad.length * 2 + 2);
    const st = await status(repo);
    expect(st.sends.failed).toBe(wecomBad.length + oaBad.length * 2 + 4);
    expect(st.sends).toMatchObject({ planned: 0, in_flight: 0, unknown: 0 });
    // Everyone else was sent as the dry run planned.
    const bad = new Set([...wecomBad, ...oaBad, d].map((m) => m.member_id));
    for (const k of planned) if (!bad.has(k.split("|")[1]!)) expect(got.has(k), k).toBe(true);
  });

  it("refuses a concurrent run with exit 2 and a clear message, and the first run completes", async () => {
    // The first WeChat call is answered after 15 s: the first run holds the lock meanwhile.
    const s = await setup(
      120,
      61,
      [NOTICE],
      { wechat: { script: [fault.slow(15_000, "/message/")] } },
      { template_message: { timeout_ms: 60_000 }, subscribe: { timeout_ms: 60_000 } },
    );
    const first = execa(process.execPath, [BIN, "dispatch", "--members", s.repo.members, "--at", AT, "--json"], {
      cwd: s.repo.dir,
      env: { CI: "true", NO_COLOR: "1", ...s.repo.env },
      reject: false,
    });
    await waitFor(() => s.fakes.wechatRequests() > 0, 60_000, "the first run's first call");
    const second = await dispatch(s.repo, AT);
    expect(second.exitCode).toBe(2);
    // Under --json the refusal is a JSON diagnostic on stdout, and nothing else is printed.
    expect(second.stderr).toBe("");
    expect(JSON.parse(second.stdout)).toMatchObject({ diagnostics: [{ code: "CH9026", message: expect.stringMatching(/another dispatch is running/) }] });
    const r = await first;
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    const { delivered } = expectLedgerMatchesFakes(s.repo, s.fakes);
    expect(delivered.length).toBe(summaryOf(r).sent);
    const st = await status(s.repo);
    expect(st.runs.length).toBe(1); // the refused run recorded nothing
    expect(existsSync(path.join(s.repo.dir, ".chuda/dispatch.lock"))).toBe(false);
  });
});
