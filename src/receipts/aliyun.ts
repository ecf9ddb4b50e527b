/** Aliyun SMS: `QuerySendDetails` per (number, send date), narrowed by the send's BizId. SendStatus 3 delivered, 2 failed. */
import { randomUUID } from "node:crypto";
import { providerUrl } from "../drivers/http.js";
import { aliyunSignature, percentEncode } from "../drivers/signing.js";
import { cnYmd, mainlandDigits } from "../drivers/sms-common.js";
import { strOpt } from "../drivers/common.js";
import type { ReceiptInput } from "../dispatch/delivery.js";
import { cnTime, eachLimit, type Puller } from "./pull.js";

export const pullAliyun: Puller = async (ctx, sends) => {
  const url = providerUrl(ctx.baseUrl, "https://dysmsapi.aliyuncs.com", "/");
  const region = strOpt(ctx.options, "region_id") ?? "cn-hangzhou";
  const out: ReceiptInput[] = [];
  await eachLimit(sends, 4, async (s) => {
    const phone = mainlandDigits(s.address ?? "");
    if (!phone || !s.provider_id) return;
    const params: Record<string, string> = {
      AccessKeyId: ctx.secrets.access_key_id ?? "",
      Action: "QuerySendDetails",
      Format: "JSON",
      RegionId: region,
      SignatureMethod: "HMAC-SHA1",
      SignatureNonce: randomUUID(),
      SignatureVersion: "1.0",
      Timestamp: new Date(ctx.now()).toISOString().replace(/\.\d{3}Z$/, "Z"),
      Version: "2017-05-25",
      PhoneNumber: phone,
      SendDate: cnYmd(s.first_attempt_at ?? s.send_at),
      BizId: s.provider_id,
      PageSize: "10",
      CurrentPage: "1",
    };
    params.Signature = aliyunSignature("POST", params, ctx.secrets.access_key_secret ?? "");
    const body = Object.entries(params)
      .map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`)
      .join("&");
    const r = await ctx.http.call({ method: "POST", url, body, headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" } });
    if (!r.ok) return;
    const j = r.json as { Code?: string; SmsSendDetailDTOs?: { SmsSendDetailDTO?: Record<string, unknown>[] } } | undefined;
    if (j?.Code !== "OK") return;
    for (const d of j.SmsSendDetailDTOs?.SmsSendDetailDTO ?? []) {
      const status = Number(d.SendStatus);
      if (status !== 2 && status !== 3) continue; // 1: waiting for the carrier
      const at = cnTime(d.ReceiveDate) ?? cnTime(d.SendDate) ?? ctx.now();
      out.push({
        channel: ctx.channel,
        providerId: s.provider_id,
        address: phone,
        state: status === 3 ? "delivered" : "failed",
        code: status === 3 ? null : String(d.ErrCode || "failed"),
        at,
        source: "pull",
      });
    }
  });
  return out;
};
