/** Tencent SMS: `PullSmsSendStatus` drains the queue of recent statuses (at most 100 a call), each matched by SerialNo. */
import { providerUrl } from "../drivers/http.js";
import { TC3_CONTENT_TYPE, tc3Sign } from "../drivers/signing.js";
import { strOpt } from "../drivers/common.js";
import type { ReceiptInput } from "../dispatch/delivery.js";
import { cnTime, type Puller } from "./pull.js";

/** Calls per pull at most (100 statuses each): a bound, not a target. */
const MAX_CALLS = 1000;

export const pullTencent: Puller = async (ctx) => {
  const url = providerUrl(ctx.baseUrl, "https://sms.tencentcloudapi.com", "/");
  const host = new URL(url).hostname;
  const out: ReceiptInput[] = [];
  for (let i = 0; i < MAX_CALLS; i++) {
    const body = JSON.stringify({ Limit: 100, SmsSdkAppId: strOpt(ctx.options, "sdk_app_id") ?? "" });
    const timestamp = Math.floor(ctx.now() / 1000);
    const headers = { "content-type": TC3_CONTENT_TYPE, host, "x-tc-action": "PullSmsSendStatus" };
    const sig = tc3Sign({
      secretId: ctx.secrets.secret_id ?? "",
      secretKey: ctx.secrets.secret_key ?? "",
      service: "sms",
      timestamp,
      headers,
      signedHeaders: ["content-type", "host", "x-tc-action"],
      body,
    });
    const r = await ctx.http.call({
      method: "POST",
      url,
      body,
      headers: {
        "content-type": TC3_CONTENT_TYPE,
        "x-tc-action": "PullSmsSendStatus",
        "x-tc-version": "2021-01-11",
        "x-tc-timestamp": String(timestamp),
        "x-tc-region": strOpt(ctx.options, "region") ?? "ap-guangzhou",
        authorization: sig.authorization,
      },
    });
    if (!r.ok) break;
    const set = (r.json as { Response?: { PullSmsSendStatusSet?: Record<string, unknown>[]; Error?: unknown } } | undefined)?.Response;
    const rows = set?.PullSmsSendStatusSet ?? [];
    for (const x of rows) {
      const sid = String(x.SerialNo ?? "");
      if (!sid) continue;
      const ok = x.ReportStatus === "SUCCESS";
      const t = Number(x.UserReceiveTime);
      out.push({
        channel: ctx.channel,
        providerId: sid,
        address: String(x.SubscriberNumber ?? x.PhoneNumber ?? ""),
        state: ok ? "delivered" : "failed",
        code: ok ? null : String(x.Description || x.ReportStatus || "FAIL"),
        // Unix seconds by the API reference; some answers carry `yyyy-MM-dd HH:mm:ss` (China time) instead.
        at: Number.isFinite(t) && t > 0 ? t * 1000 : (cnTime(x.UserReceiveTime) ?? ctx.now()),
        source: "pull",
      });
    }
    if (rows.length < 100) break;
  }
  return out;
};
