/**
 * The providers' side of callbacks: what Aliyun, Tencent, WeChat and WeCom push to a receiving URL, in their
 * formats, with their retry behaviour (push again on anything but HTTP 200, a set number of times), their
 * signatures and safe-mode encryption. The tests build bodies from what the fakes accepted and push them to
 * `chuda serve`.
 */
import { request } from "node:http";
import { sha1Signature, wxEncrypt } from "../../src/serve/wx-crypto.js";
import { cnDateTime } from "./aliyun-sms.js";

export interface PushResult {
  /** HTTP status of each attempt, in order. */
  statuses: number[];
  /** The last answer's body. */
  body: string;
}

/** How many times each provider pushes in all (the first push and its retries). */
export const PUSH_ATTEMPTS = { aliyun: 4, tencent: 3, wechat: 3, wecom: 4 } as const;

export function httpRequest(url: string, method: string, body?: string, contentType = "application/json"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, headers: body === undefined ? {} : { "content-type": contentType, "content-length": Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/**
 * Pushes like a provider: again after anything but HTTP 200 (a refused connection included), at most `attempts`
 * times, `delayMs` apart (the providers wait minutes; tests shorten it).
 */
export async function pushWithRetry(url: string, body: string, opts: { attempts: number; contentType?: string; delayMs?: number }): Promise<PushResult> {
  const statuses: number[] = [];
  let last = "";
  for (let i = 0; i < opts.attempts; i++) {
    try {
      const r = await httpRequest(url, "POST", body, opts.contentType);
      statuses.push(r.status);
      last = r.body;
      if (r.status === 200) break;
    } catch {
      statuses.push(0);
    }
    await new Promise((res) => setTimeout(res, opts.delayMs ?? 50));
  }
  return { statuses, body: last };
}

// Aliyun ----------------------------------------------------------------------------------------------------------

export interface AliyunReport {
  phone_number: string;
  send_time: string;
  report_time: string;
  success: boolean;
  err_code: string;
  err_msg: string;
  sms_size: string;
  biz_id: string;
  out_id: string;
}

export function aliyunReport(
  d: { phone: string; bizId: string; outId?: string; at: number },
  success: boolean,
  reportAt: number,
  errCode = "MK:0001",
): AliyunReport {
  return {
    phone_number: d.phone,
    send_time: cnDateTime(d.at),
    report_time: cnDateTime(reportAt),
    success,
    err_code: success ? "DELIVERED" : errCode,
    err_msg: success ? "用户接收成功" : "用户接收失败",
    sms_size: "1",
    biz_id: d.bizId,
    out_id: d.outId ?? "",
  };
}

export function aliyunReply(phone: string, content: string, at: number, sequence: number) {
  return { phone_number: phone, content, sign_name: "测试广场", send_time: cnDateTime(at), dest_code: "1234", sequence_id: sequence };
}

// Tencent ---------------------------------------------------------------------------------------------------------

export function tencentReport(d: { phone: string; serialNo: string }, success: boolean, reportAt: number, errmsg = "DELIVRD") {
  return {
    user_receive_time: cnDateTime(reportAt),
    nationcode: "86",
    mobile: d.phone,
    report_status: success ? "SUCCESS" : "FAIL",
    errmsg: success ? "DELIVRD" : errmsg,
    description: success ? "用户短信送达成功" : "用户短信送达失败",
    sid: d.serialNo,
  };
}

export function tencentReply(phone: string, text: string, atSeconds: number) {
  return { extend: "", mobile: phone, nationcode: "86", sign: "测试广场", text, time: atSeconds };
}

// WeChat and WeCom ------------------------------------------------------------------------------------------------

export function wxXml(fields: Record<string, string | number>): string {
  return `<xml>${Object.entries(fields)
    .map(([k, v]) => (typeof v === "number" ? `<${k}>${v}</${k}>` : `<${k}><![CDATA[${v}]]></${k}>`))
    .join("")}</xml>`;
}

export function templateFinish(openid: string, msgId: string | number, status: string, createTime: number): string {
  return wxXml({
    ToUserName: "gh_test",
    FromUserName: openid,
    CreateTime: createTime,
    MsgType: "event",
    Event: "TEMPLATESENDJOBFINISH",
    MsgID: String(msgId),
    Status: status,
  });
}

/** The query WeChat adds to a plain-mode push: signature over token, timestamp, nonce. */
export function wxPlainQuery(token: string, timestamp = "1700000000", nonce = "42"): string {
  return `signature=${sha1Signature(token, timestamp, nonce)}&timestamp=${timestamp}&nonce=${nonce}&openid=x`;
}

/** A safe-mode push: the body `<xml><ToUserName/><Encrypt/></xml>` and its query with msg_signature. */
export function wxSafeMode(
  token: string,
  aesKey: string,
  receiverId: string,
  message: string,
  timestamp = "1700000000",
  nonce = "42",
): { query: string; body: string } {
  const enc = wxEncrypt(aesKey, message, receiverId);
  return {
    query: `signature=${sha1Signature(token, timestamp, nonce)}&timestamp=${timestamp}&nonce=${nonce}&encrypt_type=aes&msg_signature=${sha1Signature(token, timestamp, nonce, enc)}`,
    body: `<xml><ToUserName><![CDATA[${receiverId}]]></ToUserName><Encrypt><![CDATA[${enc}]]></Encrypt></xml>`,
  };
}
