/**
 * WeCom: `get_groupmsg_send_result` per (task msgid, staff member): status 1 delivered to the customer (at
 * `send_time`), 2 not a contact and 3 already got a mass message that day are failures; 0 (not sent yet) waits.
 */
import { providerUrl } from "../drivers/http.js";
import type { ReceiptInput } from "../dispatch/delivery.js";
import type { Puller } from "./pull.js";

const EP = "/cgi-bin/externalcontact";

export const pullWecom: Puller = async (ctx, sends) => {
  const url = (p: string) => providerUrl(ctx.baseUrl, "https://qyapi.weixin.qq.com", p);
  const t = await ctx.http.call({
    method: "GET",
    url: url("/cgi-bin/gettoken"),
    searchParams: { corpid: ctx.secrets.corp_id ?? "", corpsecret: ctx.secrets.secret ?? "" },
  });
  const token = t.ok ? (t.json as { access_token?: string } | undefined)?.access_token : undefined;
  if (!token) return [];
  const tasks = new Map<string, { msgid: string; userid: string; addresses: Set<string> }>();
  for (const s of sends) {
    if (!s.provider_id || !s.sender || !s.address) continue;
    const k = `${s.provider_id}\u0000${s.sender}`;
    const task = tasks.get(k) ?? { msgid: s.provider_id, userid: s.sender, addresses: new Set<string>() };
    task.addresses.add(s.address);
    tasks.set(k, task);
  }
  const out: ReceiptInput[] = [];
  for (const task of tasks.values()) {
    let cursor = "";
    for (let page = 0; page < 100; page++) {
      const r = await ctx.http.call({
        method: "POST",
        url: url(`${EP}/get_groupmsg_send_result`),
        searchParams: { access_token: token },
        json: { msgid: task.msgid, userid: task.userid, limit: 1000, ...(cursor ? { cursor } : {}) },
      });
      if (!r.ok) break;
      const j = r.json as { errcode?: number; send_list?: Record<string, unknown>[]; next_cursor?: string } | undefined;
      if (!j || j.errcode) break;
      for (const x of j.send_list ?? []) {
        const ext = String(x.external_userid ?? "");
        const status = Number(x.status);
        if (!task.addresses.has(ext) || status === 0) continue;
        const at = Number(x.send_time);
        out.push({
          channel: ctx.channel,
          providerId: task.msgid,
          address: ext,
          state: status === 1 ? "delivered" : "failed",
          code: status === 1 ? null : `status_${status}`,
          at: Number.isFinite(at) && at > 0 ? at * 1000 : ctx.now(),
          source: "pull",
        });
      }
      cursor = j.next_cursor ?? "";
      if (!cursor) break;
    }
  }
  return out;
};
