/**
 * Access tokens shared through the ledger: driver instances that each open the same ledger file (as separate
 * processes do) fetch one token between them, and a refused token is refreshed once, by one of them.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteLedger } from "./ledger.js";
import { ledgerTokenStore } from "./token-store.js";
import wecom from "../drivers/wecom.js";
import wechatTemplate from "../drivers/wechat-template.js";
import type { Driver, DriverInstance, SendRequest } from "../drivers/types.js";
import type { RenderedContent } from "../content/types.js";
import { manualClock } from "../../test/fakes/common.js";
import { type WechatFake, startWechatFake } from "../../test/fakes/wechat.js";
import { type WecomFake, startWecomFake } from "../../test/fakes/wecom.js";

const CORP = "ww_corp_tokens";
const CORP_SECRET = "S3cr3t-wecom-corpsecret-tokens";
const APP = "wx_app_tokens";
const APP_SECRET = "wx-app-secret-tokens-0123456789";
const TPL = "tpl_tokens";
const FOLLOWERS = ["o_1", "o_2", "o_3", "o_4", "o_5", "o_6"];
const CUSTOMERS = ["wm_1", "wm_2", "wm_3", "wm_4", "wm_5", "wm_6"];

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function ledgerFile(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "chuda-tokens-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, "state.db");
}

/** The tokens (not leases) in the ledger file, read as another process would. */
function storedTokens(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(`SELECT token FROM tokens WHERE key NOT LIKE 'lease|%'`).all() as { token: string }[]).map((r) => r.token);
  } finally {
    db.close();
  }
}

/** A ledger of its own on `file`, as another process would open it, wrapped as a TokenStore. */
function openStore(file: string) {
  const ledger = new SqliteLedger(file);
  const store = ledgerTokenStore();
  store.attach(ledger);
  cleanups.push(() => ledger.close());
  return store;
}

function req(member: string, address: string, content: RenderedContent, sender?: string): SendRequest {
  const key = `tokens|2026-11-24T10:00:00+08:00|${member}|ch`;
  const dedupeId = createHash("sha256").update(key).digest("hex").slice(0, 32);
  return { key, dedupeId, campaign: "tokens", occurrence: "2026-11-24T10:00:00+08:00", member, channel: "ch", address, sender, content };
}

const templateMessage: RenderedContent = { kind: "template_message", template_id: TPL, data: { thing1: "礼券" } };
const wecomText: RenderedContent = { kind: "wecom", text: "会员日礼券已到账", attachments: [] };

async function wechatSetup() {
  const clock = manualClock();
  const fake: WechatFake = await startWechatFake({
    apps: { [APP]: APP_SECRET },
    followers: FOLLOWERS,
    templates: { [TPL]: { keys: ["thing1"] } },
    clock: clock.now,
  });
  cleanups.push(() => fake.close());
  const file = ledgerFile();
  // `/cgi-bin/token` issues a new token on every fetch, so that `issued` counts fetches.
  const instance = () => create(wechatTemplate, { app_id: APP, app_secret: APP_SECRET }, fake.url, clock.now, openStore(file), { token_endpoint: "token" });
  return { fake, instance, file };
}

async function wecomSetup() {
  const clock = manualClock();
  const fake: WecomFake = await startWecomFake({ corpId: CORP, secret: CORP_SECRET, staff: { zhangsan: CUSTOMERS }, clock: clock.now });
  cleanups.push(() => fake.close());
  const file = ledgerFile();
  const instance = () => create(wecom, { corp_id: CORP, secret: CORP_SECRET }, fake.url, clock.now, openStore(file));
  return { fake, instance, file };
}

function create(
  driver: Driver,
  secrets: Record<string, string>,
  baseUrl: string,
  now: () => number,
  tokens: ReturnType<typeof openStore>,
  options: Record<string, unknown> = {},
): DriverInstance {
  const instance = driver.create({ channel: "ch", secrets, baseUrl, options, now, timeoutMs: 5000, root: os.tmpdir(), tokens });
  cleanups.push(() => instance.close());
  return instance;
}

describe("access tokens shared through the ledger", () => {
  it("WeChat: two instances on one ledger file, sending at the same moment, fetch one token", async () => {
    const { fake, instance, file } = await wechatSetup();
    const [a, b] = [instance(), instance()];
    const out = await Promise.all([a.send([req("m1", "o_1", templateMessage)]), b.send([req("m2", "o_2", templateMessage)])]);
    expect(out.flat().map((o) => o.status)).toEqual(["sent", "sent"]);
    expect(fake.state.tokens.issued).toHaveLength(1);
    expect(storedTokens(file)).toEqual([fake.state.tokens.issued[0]!.token]);
    // A third instance, opened later, reads the stored token instead of fetching (which would invalidate the first).
    expect((await instance().send([req("m3", "o_3", templateMessage)]))[0]!.status).toBe("sent");
    expect(fake.state.tokens.issued).toHaveLength(1);
  });

  it("WeCom: two instances on one ledger file fetch one token", async () => {
    const { fake, instance, file } = await wecomSetup();
    const [a, b] = [instance(), instance()];
    const out = await Promise.all([a.send([req("m1", "wm_1", wecomText, "zhangsan")]), b.send([req("m2", "wm_2", wecomText, "zhangsan")])]);
    expect(out.flat().map((o) => o.status)).toEqual(["queued", "queued"]);
    expect(fake.state.tokens.issued).toHaveLength(1);
    expect(storedTokens(file)).toEqual([fake.state.tokens.issued[0]!.token]);
  });

  it("WeChat 40001: the instance refused refreshes once and retries once; the other takes the new token from the ledger", async () => {
    const { fake, instance } = await wechatSetup();
    const [a, b] = [instance(), instance()];
    await a.send([req("m1", "o_1", templateMessage)]);
    await b.send([req("m2", "o_2", templateMessage)]);
    fake.revokeTokens(APP); // another holder refreshed: the token both hold answers 40001
    expect((await a.send([req("m3", "o_3", templateMessage)]))[0]!.status).toBe("sent");
    expect((await b.send([req("m4", "o_4", templateMessage)]))[0]!.status).toBe("sent");
    expect(fake.state.tokens.issued).toHaveLength(2);
    // Refused calls never reach the send handler: each message went through once, on the retry after the refresh.
    expect(fake.state.calls.map((c) => [c.touser, c.errcode])).toEqual(FOLLOWERS.slice(0, 4).map((o) => [o, 0]));
    expect(fake.deliveries().map((d) => d.openid)).toEqual(["o_1", "o_2", "o_3", "o_4"]);
  });

  it("WeCom 42001: an expired token is refreshed once for both instances", async () => {
    const { fake, instance } = await wecomSetup();
    const [a, b] = [instance(), instance()];
    await a.send([req("m1", "wm_1", wecomText, "zhangsan")]);
    await b.send([req("m2", "wm_2", wecomText, "zhangsan")]);
    fake.state.tokens.expireAll();
    const out = [...(await a.send([req("m3", "wm_3", wecomText, "zhangsan")])), ...(await b.send([req("m4", "wm_4", wecomText, "zhangsan")]))];
    expect(out.map((o) => o.status)).toEqual(["queued", "queued"]);
    expect(fake.state.tokens.issued).toHaveLength(2);
    expect(fake.deliveries().map((d) => d.externalUserid)).toEqual(["wm_1", "wm_2", "wm_3", "wm_4"]);
  });
});

describe("SqliteLedger.leaseToken", () => {
  it("is held by one holder at a time, until it expires or its holder releases it", async () => {
    const file = ledgerFile();
    const [one, two] = [new SqliteLedger(file), new SqliteLedger(file)];
    cleanups.push(
      () => one.close(),
      () => two.close(),
    );
    expect(await one.leaseToken("k", "a", 1000, 5000)).toBe(true);
    expect(await two.leaseToken("k", "b", 1000, 5000)).toBe(false);
    expect(await one.leaseToken("k", "a", 2000, 6000)).toBe(true); // renewed by its holder
    expect(await two.leaseToken("k", "b", 6000, 9000)).toBe(true); // expired: taken over
    expect(await one.leaseToken("k", "a", 7000, 9000)).toBe(false);
    expect(await two.leaseToken("k", "b", 7000, 0)).toBe(false); // released (a release is not a hold)
    expect(await one.leaseToken("k", "a", 7000, 9000)).toBe(true);
    expect(await one.getToken("lease|k", 0)).toBe("a");
  });
});
