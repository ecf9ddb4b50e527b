/**
 * Shared machinery of the dispatch end-to-end tests and bench: a small campaign repository written into a temp dir
 * (chuda.yaml pointing every channel at a loopback fake, campaigns, templates from test/fixtures/dispatch, a
 * generated member snapshot), the CLI calls, and readers of what the fakes and the ledger saw.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { mulberry32 } from "../fakes/common.js";
import { startWecomFake, type WecomFake, type WecomFakeOptions } from "../fakes/wecom.js";
import { startWechatFake, type WechatFake, type WechatFakeOptions } from "../fakes/wechat.js";
import { startAliyunSmsFake, type AliyunSmsFake, type AliyunSmsFakeOptions } from "../fakes/aliyun-sms.js";
import { startWebhookFake, type WebhookFake, type WebhookFakeOptions } from "../fakes/webhook.js";
import { chuda, REPO } from "./cli.js";

export const FIXTURES = path.join(REPO, "test/fixtures/dispatch");

/** Secrets the fakes accept by default (their own defaults), by the env var names chuda.yaml uses. */
export const ENV: Record<string, string> = {
  WECOM_CORP_ID: "ww_test_corp",
  WECOM_SECRET: "wecom_test_secret_0123456789",
  WX_APP_ID: "wx_test_app",
  WX_APP_SECRET: "wechat_test_secret_0123456789",
  MP_APP_ID: "wx_test_app",
  MP_APP_SECRET: "wechat_test_secret_0123456789",
  ALIYUN_AK: "testid",
  ALIYUN_SK: "testsecret",
  TC_ID: "AKIDtest",
  TC_KEY: "testsecretkey",
  HOOK_SECRET: "whsecret",
  // The tests' "now": after every --at they use (a real dispatch refuses a moment in the future).
  CHUDA_NOW: "2027-01-01T00:00:00+08:00",
};

// ---------------------------------------------------------------------------------------------------------------
// Members

export interface Member {
  member_id: string;
  name: string;
  mobile: string;
  tier: "normal" | "silver" | "gold";
  wecom_external_userid: string;
  wecom_owner: string;
  openid: string;
  mp_openid: string;
  oa_subscribed: boolean;
  sms_opt_in: boolean;
  unsubscribed: boolean;
}

const SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"];
const GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟"];
export const STAFF = ["staff_a", "staff_b", "staff_c"];

export interface MemberMix {
  /** Share with a WeCom external_userid (and an owner). Default 0.6. */
  wecom?: number;
  /** Share following the 服务号 (openid, oa_subscribed). Default 0.8. */
  oa?: number;
  /** Share with a mini-program openid. Default 0.9. */
  mp?: number;
  /** Share with sms_opt_in. Default 0.9. */
  sms?: number;
  /** Share unsubscribed (excluded by policy). Default 0.03. */
  unsubscribed?: number;
}

/** `n` members, deterministic for a seed. Ids M000001…; addresses derive from the id so a fake's recipient maps back. */
export function makeMembers(n: number, seed = 7, mix: MemberMix = {}): Member[] {
  const rnd = mulberry32(seed);
  const out: Member[] = [];
  for (let i = 1; i <= n; i++) {
    const id = `M${String(i).padStart(6, "0")}`;
    const wecom = rnd() < (mix.wecom ?? 0.6);
    const oa = rnd() < (mix.oa ?? 0.8);
    const mp = rnd() < (mix.mp ?? 0.9);
    out.push({
      member_id: id,
      name: SURNAMES[Math.floor(rnd() * SURNAMES.length)]! + GIVEN[Math.floor(rnd() * GIVEN.length)]!,
      mobile: `139${String(i).padStart(8, "0")}`,
      tier: (["normal", "silver", "gold"] as const)[i % 3]!,
      wecom_external_userid: wecom ? `wm_${id}` : "",
      wecom_owner: wecom ? STAFF[i % STAFF.length]! : "",
      openid: oa ? `o_${id}` : "",
      mp_openid: mp ? `mp_${id}` : "",
      oa_subscribed: oa,
      sms_opt_in: rnd() < (mix.sms ?? 0.9),
      unsubscribed: rnd() < (mix.unsubscribed ?? 0.03),
    });
  }
  return out;
}

const COLUMNS: (keyof Member)[] = [
  "member_id",
  "name",
  "mobile",
  "tier",
  "wecom_external_userid",
  "wecom_owner",
  "openid",
  "mp_openid",
  "oa_subscribed",
  "sms_opt_in",
  "unsubscribed",
];

export function writeMembersCsv(file: string, members: Member[]): void {
  const lines = [COLUMNS.join(",")];
  for (const m of members) lines.push(COLUMNS.map((c) => String(m[c])).join(","));
  writeFileSync(file, lines.join("\n") + "\n");
}

/** Address (external_userid, openid, mp openid, phone, member id) → member id. */
export function memberOf(address: string): string {
  const m = /M\d{6}$/.exec(address);
  if (m) return m[0];
  const p = /^(?:\+?86)?139(\d{8})$/.exec(address);
  if (p) return `M${p[1]!.slice(2)}`;
  throw new Error(`no member behind address ${address}`);
}

// ---------------------------------------------------------------------------------------------------------------
// The repository

export interface ChannelSpec {
  driver: "wecom" | "wechat-template" | "wechat-subscribe" | "aliyun-sms" | "tencent-sms" | "webhook" | "file";
  baseUrl?: string;
  rateLimit?: number;
  concurrency?: number;
  options?: Record<string, unknown>;
}

const CHANNEL_DEFAULTS: Record<string, { address: string; consent?: string; sender?: string; env: Record<string, string> }> = {
  wecom: { address: "wecom_external_userid", sender: "wecom_owner", env: { corp_id: "WECOM_CORP_ID", secret: "WECOM_SECRET" } },
  "wechat-template": { address: "openid", consent: "oa_subscribed", env: { app_id: "WX_APP_ID", app_secret: "WX_APP_SECRET" } },
  "wechat-subscribe": { address: "mp_openid", env: { app_id: "MP_APP_ID", app_secret: "MP_APP_SECRET" } },
  "aliyun-sms": { address: "mobile", consent: "sms_opt_in", env: { access_key_id: "ALIYUN_AK", access_key_secret: "ALIYUN_SK" } },
  "tencent-sms": { address: "mobile", consent: "sms_opt_in", env: { secret_id: "TC_ID", secret_key: "TC_KEY" } },
  webhook: { address: "member_id", env: { secret: "HOOK_SECRET" } },
  file: { address: "member_id", env: {} },
};

/** chuda.yaml text for these channels (names are the channel names campaigns use). */
export function projectYaml(channels: Record<string, ChannelSpec>, policy: { catchUp?: string; max?: string } = {}): string {
  const ch: string[] = [];
  for (const [name, spec] of Object.entries(channels)) {
    const d = CHANNEL_DEFAULTS[spec.driver]!;
    ch.push(`  ${name}:`, `    driver: ${spec.driver}`, `    address: ${d.address}`);
    if (d.consent) ch.push(`    consent: ${d.consent}`);
    if (d.sender) ch.push(`    sender: ${d.sender}`);
    ch.push(`    rates: { delivered: 0.95, opened: 0.2 }`);
    if (Object.keys(d.env).length)
      ch.push(
        `    env: { ${Object.entries(d.env)
          .map(([k, v]) => `${k}: ${v}`)
          .join(", ")} }`,
      );
    if (spec.baseUrl) ch.push(`    base_url: ${spec.baseUrl}`);
    if (spec.rateLimit) ch.push(`    rate_limit: ${spec.rateLimit}`);
    if (spec.concurrency) ch.push(`    concurrency: ${spec.concurrency}`);
    if (spec.options) ch.push(`    options: ${JSON.stringify(spec.options)}`);
  }
  return [
    "timezone: Asia/Shanghai",
    'mall: { name: "测试广场", location: [116.397, 39.909] }',
    "members:",
    "  key: member_id",
    "  fields:",
    "    member_id: string",
    "    name: string",
    "    mobile: phone",
    "    tier: { enum: [normal, silver, gold] }",
    "    wecom_external_userid: string",
    "    wecom_owner: string",
    "    openid: string",
    "    mp_openid: string",
    "    oa_subscribed: bool",
    "    sms_opt_in: bool",
    "    unsubscribed: bool",
    "channels:",
    ...ch,
    "policy:",
    "  exclude: unsubscribed",
    ...(policy.max ? [`  max: ${policy.max}`] : []),
    '  quiet_hours: "22:00-08:00"',
    '  default_time: "10:00"',
    ...(policy.catchUp ? [`  catch_up: ${policy.catchUp}`] : []),
    "assumptions: { redeem: 0.1, visit: 0.05, purchase: 0.03 }",
    "",
  ].join("\n");
}

export interface CampaignSpec {
  name: string;
  /** Channel names in preference order. */
  channels: string[];
  /** Template file name in test/fixtures/dispatch/templates (without .yaml). */
  template: string;
  /** `once at 2026-12-24 10:00`, `every day at 10:00` … */
  trigger: string;
  audience?: string;
  holdout?: number;
  priority?: number;
  with?: Record<string, string | number>;
}

export function campaignText(c: CampaignSpec): string {
  const w = c.with
    ? ` with { ${Object.entries(c.with)
        .map(([k, v]) => `${k}: ${typeof v === "number" ? v : JSON.stringify(v)}`)
        .join(", ")} }`
    : "";
  return [
    `campaign ${c.name} "${c.name}" {`,
    `  audience ${c.audience ?? "member_id is set"}`,
    `  trigger  ${c.trigger}`,
    `  content  "${c.template}"${w}`,
    `  channel  ${c.channels.join(" > ")}`,
    `  goal     visit within 3 days`,
    ...(c.holdout ? [`  holdout  ${c.holdout}%`] : []),
    ...(c.priority !== undefined ? [`  priority ${c.priority}`] : []),
    "}",
    "",
  ].join("\n");
}

export interface TestRepo {
  dir: string;
  members: string;
  env: Record<string, string>;
}

/** A fresh repository in a temp dir: chuda.yaml, campaigns/test.chuda, the fixture templates, members.csv. */
export function makeRepo(opts: {
  channels: Record<string, ChannelSpec>;
  campaigns: CampaignSpec[];
  members: Member[];
  policy?: { catchUp?: string; max?: string };
}): TestRepo {
  const dir = mkdtempSync(path.join(os.tmpdir(), "chuda-dispatch-"));
  writeFileSync(path.join(dir, "chuda.yaml"), projectYaml(opts.channels, opts.policy));
  mkdirSync(path.join(dir, "campaigns"));
  writeFileSync(path.join(dir, "campaigns/test.chuda"), opts.campaigns.map(campaignText).join("\n"));
  cpSync(path.join(FIXTURES, "templates"), path.join(dir, "templates"), { recursive: true });
  const members = path.join(dir, "members.csv");
  writeMembersCsv(members, opts.members);
  return { dir, members, env: { ...ENV } };
}

// ---------------------------------------------------------------------------------------------------------------
// The CLI

export interface Run {
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
}

/** The built CLI in the repository, with the fakes' secrets in the environment. */
export async function run(repo: TestRepo, args: string[]): Promise<Run> {
  const r = await chuda(args, { cwd: repo.dir, env: repo.env });
  return { exitCode: r.exitCode, signal: r.signal, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
}

/** `chuda dispatch --members … --at AT --json [extra]`. */
export async function dispatch(repo: TestRepo, at: string, extra: string[] = []): Promise<Run> {
  return run(repo, ["dispatch", "--members", repo.members, "--at", at, "--json", ...extra]);
}

export interface StatusJson {
  runs: { id: number; status: string }[];
  sends: Record<"planned" | "in_flight" | "sent" | "queued" | "failed" | "unknown" | "held_out", number>;
  by_campaign: Record<string, unknown>[];
  unknown: { campaign: string; occurrence: string; member: string; channel: string }[];
}

export async function status(repo: TestRepo): Promise<StatusJson> {
  const r = await run(repo, ["status", "--json"]);
  if (r.exitCode !== 0) throw new Error(`chuda status failed (${r.exitCode}): ${r.stderr}`);
  return JSON.parse(r.stdout) as StatusJson;
}

/** The summary a `dispatch --json` printed (throws with the output when it is not JSON). */
export function summaryOf(r: { stdout: string; stderr: string; exitCode?: number }): Record<string, unknown> & {
  sent: number;
  queued: number;
  failed: number;
  unknown: number;
  planned: number;
  held_out: number;
  pending: number;
  fallbacks: number;
  retries: number;
} {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`dispatch printed no JSON (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The ledger (read-only, to cross-check `chuda status` key by key)

export interface LedgerRow {
  key: string;
  campaign: string;
  occurrence: string;
  member: string;
  channel: string;
  state: string;
  attempts: number;
  error_code: string | null;
}

export function ledgerRows(repo: TestRepo): LedgerRow[] {
  const db = new Database(path.join(repo.dir, ".chuda/state.db"), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(`SELECT key, campaign, occurrence, member, channel, state, attempts, error_code FROM sends ORDER BY key`).all() as LedgerRow[];
  } finally {
    db.close();
  }
}

/** `campaign|member|channel` of each row. */
export const cmc = (r: { campaign: string; member: string; channel: string }) => `${r.campaign}|${r.member}|${r.channel}`;

/** Counts of each value; entries seen more than once. */
export function duplicates(values: string[]): string[] {
  const seen = new Map<string, number>();
  for (const v of values) seen.set(v, (seen.get(v) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([v, n]) => `${v} ×${n}`);
}

/** Waits (polling) until `cond()` holds; throws after `ms`. Not a timed assertion: a guard against a hang. */
export async function waitFor(cond: () => boolean, ms = 60_000, what = "condition"): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function readText(file: string): string {
  return readFileSync(file, "utf8");
}

// ---------------------------------------------------------------------------------------------------------------
// The fakes

/** One recipient a fake accepted, mapped back to the ledger's terms. */
export interface Delivery {
  campaign: string;
  member: string;
  channel: string;
}

/** Provider template ids / texts of test/fixtures/dispatch/templates → campaign (campaigns are named after their template). */
const TEMPLATE_CAMPAIGN: Record<string, string> = {
  TM_GIFT: "gift",
  TM_NOTICE: "notice",
  TM_DAILY: "daily",
  ST_GIFT: "gift",
  ST_NOTICE: "notice",
  SMS_2001: "gift",
  SMS_2002: "notice",
  SMS_2003: "daily",
  SMS_2009: "flat",
};
const wecomCampaign = (text = "") => (text.includes("圣诞") ? "gift" : text.includes("手作") ? "notice" : `?${text.slice(0, 10)}`);

export interface Fakes {
  wecom: WecomFake;
  wechat: WechatFake;
  sms: AliyunSmsFake;
  hook: WebhookFake;
  /** Channel specs pointing at the fakes: wecom, template_message, subscribe, sms, hook. */
  channels: Record<string, ChannelSpec>;
  deliveries(): Delivery[];
  /** Requests that reached the WeChat fake's message APIs, faulted or not. */
  wechatRequests(): number;
  close(): Promise<void>;
}

export interface FakeOptions {
  wecom?: WecomFakeOptions;
  wechat?: WechatFakeOptions;
  sms?: AliyunSmsFakeOptions;
  hook?: WebhookFakeOptions;
  /** Consents granted per (mini-program openid, subscribe template); more than 1 lets a duplicate show. Default 3. */
  consents?: number;
}

export async function startFakes(members: Member[], opts: FakeOptions = {}): Promise<Fakes> {
  const staff: Record<string, string[]> = Object.fromEntries(STAFF.map((s) => [s, [] as string[]]));
  for (const m of members) if (m.wecom_external_userid) staff[m.wecom_owner]!.push(m.wecom_external_userid);
  const wecom = await startWecomFake({ staff, capPolicy: "none", ...opts.wecom });
  const consents: Record<string, number> = {};
  for (const m of members) if (m.mp_openid) for (const t of ["ST_GIFT", "ST_NOTICE"]) consents[`${m.mp_openid}|${t}`] = opts.consents ?? 3;
  const wechat = await startWechatFake({
    followers: members.filter((m) => m.openid).map((m) => m.openid),
    templates: { TM_GIFT: { keys: ["thing1", "amount2"] }, TM_NOTICE: { keys: ["thing1", "thing2"] }, TM_DAILY: { keys: ["thing1"] } },
    users: members.filter((m) => m.mp_openid).map((m) => m.mp_openid),
    subscribeTemplates: { ST_GIFT: { keys: ["thing1", "amount2"] }, ST_NOTICE: { keys: ["thing1", "thing2"] } },
    consents,
    ...opts.wechat,
  });
  // Receipts final at once, so that a reconcile after a crash sees the send (the default 5 s is a real provider's lag).
  const sms = await startAliyunSmsFake({ receiptDelayMs: 0, ...opts.sms });
  const hook = await startWebhookFake(opts.hook);
  return {
    wecom,
    wechat,
    sms,
    hook,
    channels: {
      wecom: { driver: "wecom", baseUrl: wecom.url },
      template_message: { driver: "wechat-template", baseUrl: wechat.url },
      subscribe: { driver: "wechat-subscribe", baseUrl: wechat.url },
      sms: { driver: "aliyun-sms", baseUrl: sms.url },
      hook: { driver: "webhook", baseUrl: hook.url, options: { url: "https://crm.example.com/chuda/hook" } },
    },
    deliveries: () => [
      ...wecom
        .deliveries()
        .map((d) => ({ campaign: wecomCampaign(wecom.state.tasks.get(d.msgid)?.text), member: memberOf(d.externalUserid), channel: "wecom" })),
      ...wechat
        .deliveries()
        .map((d) => ({ campaign: TEMPLATE_CAMPAIGN[d.templateId] ?? d.templateId, member: memberOf(d.openid), channel: "template_message" })),
      ...wechat
        .subscribeDeliveries()
        .map((d) => ({ campaign: TEMPLATE_CAMPAIGN[d.templateId] ?? d.templateId, member: memberOf(d.openid), channel: "subscribe" })),
      ...sms.deliveries().map((d) => ({ campaign: TEMPLATE_CAMPAIGN[d.template] ?? d.template, member: memberOf(d.phone), channel: "sms" })),
      ...hook.deliveries().map((d) => ({ campaign: String(d.body.campaign), member: String(d.body.member), channel: String(d.body.channel) })),
    ],
    wechatRequests: () => wechat.state.calls.length + wechat.faults().length,
    close: async () => {
      await Promise.all([wecom.close(), wechat.close(), sms.close(), hook.close()]);
    },
  };
}
