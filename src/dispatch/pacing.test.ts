/**
 * `DriverContext.acquire`: every built-in HTTP driver awaits it before each provider call (not token calls), so a
 * channel's `rate_limit` bounds the calls the provider sees, whatever the driver does with a batch (one call per
 * recipient, a batch split by body, a retry after a token refresh). A counting proxy sits between driver and fake:
 * when a request reaches it, at least as many `acquire` calls must have resolved as provider calls have arrived.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createHash } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import type { RenderedContent } from "../content/types.js";
import type { Driver, DriverContext, SendRequest } from "../drivers/types.js";
import wecom from "../drivers/wecom.js";
import wechatTemplate from "../drivers/wechat-template.js";
import wechatSubscribe from "../drivers/wechat-subscribe.js";
import aliyunSms from "../drivers/aliyun-sms.js";
import tencentSms from "../drivers/tencent-sms.js";
import webhook from "../drivers/webhook.js";
import { startTencentSmsFake, type TencentSmsFake } from "../../test/fakes/tencent-sms.js";
import { ENV, makeMembers, startFakes, type Fakes, type Member } from "../../test/e2e/dispatch-helpers.js";
import { rateGate } from "./rate-gate.js";

const TOKEN_PATH = /\/(gettoken|token|stable_token)$/;

/** A loopback proxy to `target` that records, per request, whether it is a token call and how many acquires had resolved. */
async function countingProxy(target: string, acquired: () => number) {
  const seen: { path: string; token: boolean; acquiredBefore: number }[] = [];
  const t = new URL(target);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    seen.push({ path, token: TOKEN_PATH.test(path), acquiredBefore: acquired() });
    const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function request(m: Member, channel: string, address: string, content: RenderedContent, sender?: string): SendRequest {
  const key = `pacing|2026-12-24T10:00:00+08:00|${m.member_id}|${channel}`;
  const r: SendRequest = {
    key,
    dedupeId: createHash("sha256").update(key).digest("hex").slice(0, 32),
    campaign: "pacing",
    occurrence: "2026-12-24T10:00:00+08:00",
    member: m.member_id,
    channel,
    address,
    content,
  };
  if (sender) r.sender = sender;
  return r;
}

const members = makeMembers(12, 5, { wecom: 1, oa: 1, mp: 1, sms: 1, unsubscribed: 0 });
let fakes: Fakes;
let tencent: TencentSmsFake;
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of closers) await c();
  await fakes?.close();
  await tencent?.close();
});

interface Case {
  driver: Driver;
  url: () => string;
  secrets: Record<string, string>;
  options?: Record<string, unknown>;
  batch: () => SendRequest[];
}

const CASES: Record<string, Case> = {
  wecom: {
    driver: wecom,
    url: () => fakes.wecom.url,
    secrets: { corp_id: "ww_test_corp", secret: ENV.WECOM_SECRET! },
    batch: () =>
      members.map((m) =>
        request(m, "wecom", m.wecom_external_userid, { kind: "wecom", text: "本周六一楼中庭有会员手作活动，欢迎报名。", attachments: [] }, m.wecom_owner),
      ),
  },
  "wechat-template": {
    driver: wechatTemplate,
    url: () => fakes.wechat.url,
    secrets: { app_id: ENV.WX_APP_ID!, app_secret: ENV.WX_APP_SECRET! },
    batch: () =>
      members.map((m) =>
        request(m, "template_message", m.openid, {
          kind: "template_message",
          template_id: "TM_NOTICE",
          data: { thing1: `${m.name}的会员活动`, thing2: "一楼中庭手作" },
        }),
      ),
  },
  "wechat-subscribe": {
    driver: wechatSubscribe,
    url: () => fakes.wechat.url,
    secrets: { app_id: ENV.MP_APP_ID!, app_secret: ENV.MP_APP_SECRET! },
    batch: () =>
      members.map((m) =>
        request(m, "subscribe", m.mp_openid, {
          kind: "subscribe_message",
          template_id: "ST_NOTICE",
          data: { thing1: `${m.name}的会员活动`, thing2: "一楼中庭手作" },
        }),
      ),
  },
  "aliyun-sms": {
    driver: aliyunSms,
    url: () => fakes.sms.url,
    secrets: { access_key_id: ENV.ALIYUN_AK!, access_key_secret: ENV.ALIYUN_SK! },
    // Per-member bodies: the driver splits the batch into several calls.
    batch: () =>
      members.map((m) =>
        request(m, "sms", m.mobile, {
          kind: "sms",
          sign: "测试广场",
          code: "SMS_2002",
          params: { name: m.name },
          text: `${m.name}您好，本周六一楼中庭有会员手作活动，欢迎报名。拒收请回复R`,
        }),
      ),
  },
  "tencent-sms": {
    driver: tencentSms,
    url: () => tencent.url,
    secrets: { secret_id: "AKIDpacingTest0001", secret_key: "tencent-Secret-Key-0123456789" },
    options: { sdk_app_id: "1400000000" },
    batch: () =>
      members.map((m) => request(m, "sms", `+86${m.mobile}`, { kind: "sms", sign: "测试广场", code: "1000001", params: { name: m.name }, text: "…" })),
  },
  webhook: {
    driver: webhook,
    url: () => fakes.hook.url,
    secrets: { secret: ENV.HOOK_SECRET! },
    options: { url: "https://crm.example.com/chuda/hook", concurrency: 4 },
    batch: () => members.map((m) => request(m, "hook", m.member_id, { kind: "webhook", body: { text: `${m.name}您好` } })),
  },
};

describe("built-in drivers await DriverContext.acquire before every provider call", () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(name, async () => {
      fakes ??= await startFakes(members);
      tencent ??= await startTencentSmsFake({ secrets: { AKIDpacingTest0001: "tencent-Secret-Key-0123456789" }, clock: () => Date.UTC(2026, 11, 24, 2, 0, 0) });
      let acquired = 0;
      // A real gate (unlimited) wrapped to count: the count rises when the call may leave.
      const gate = rateGate(undefined);
      const proxy = await countingProxy(c.url(), () => acquired);
      closers.push(proxy.close);
      const ctx: DriverContext = {
        channel: name,
        secrets: c.secrets,
        baseUrl: proxy.url,
        options: c.options ?? {},
        now: name === "tencent-sms" ? () => Date.UTC(2026, 11, 24, 2, 0, 0) : () => Date.now(),
        timeoutMs: 5000,
        root: "/tmp",
        acquire: async () => {
          await gate.acquire();
          acquired++;
        },
      };
      const inst = c.driver.create(ctx);
      try {
        const outcomes = await inst.send(c.batch());
        expect(outcomes.filter((o) => o.status === "failed")).toEqual([]);
      } finally {
        await inst.close();
      }
      const calls = proxy.seen.filter((s) => !s.token);
      expect(calls.length).toBeGreaterThan(0);
      // One acquire per provider call, none for token calls; each call left only after its acquire resolved.
      expect(acquired).toBe(calls.length);
      calls.forEach((s, i) => expect(s.acquiredBefore, `${s.path} #${i}`).toBeGreaterThanOrEqual(i + 1));
      expect(gate.hooked).toBe(true);
    });
  }
});
