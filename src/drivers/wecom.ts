/**
 * Driver `wecom`: WeCom customer mass message (docs/channels.md). A send creates a task per (sender, content) that the
 * staff member confirms in the WeCom client; accepted customers are `queued` with the task's `msgid`.
 */
import { createHash } from "node:crypto";
import type { Driver, DriverContext, DriverInstance, QueuedRequest, SendOutcome, SendRequest } from "./types.js";
import type { WecomAttachment, WecomContent } from "../content/types.js";
import { type HttpClient, createHttpClient, mapLimit, providerUrl, redact } from "./http.js";
import { type Failed, failed, isObj, numOpt } from "./common.js";
import { type TokenCallResult, type TokenCallSpec, accessTokens, callWithToken } from "./access-token.js";

const DEFAULT_ORIGIN = "https://qyapi.weixin.qq.com";
const MAX_IDS = 10_000;
/** Token codes of WeCom: refresh once, retry once (40001 is an invalid secret here, not a token). */
const WECOM_TOKEN_CODES = new Set([40014, 42001]);
const EP = "/cgi-bin/externalcontact";

/** The error code → outcome-class table of docs/channels.md. Codes not listed are `request` (needs a person). */
export const WECOM_ERROR_CLASSES: Record<number, Failed["class"]> = {
  [-1]: "retry",
  40014: "refresh",
  42001: "refresh",
  41001: "request",
  40001: "stop",
  40013: "stop", // invalid corpid
  40003: "request",
  40096: "recipient",
  84061: "recipient",
  45009: "defer",
  45033: "retry",
  41063: "retry",
  48002: "stop", // (unverified in WeCom's table)
  60011: "stop", // no privilege
  60020: "stop", // caller IP not allowed
};

function contentKey(c: WecomContent): string {
  return JSON.stringify([c.text ?? null, c.attachments ?? []]);
}

function contentBody(c: WecomContent): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  if (c.text !== undefined && c.text !== "") b.text = { content: c.text };
  if (c.attachments && c.attachments.length > 0) b.attachments = c.attachments.map(cleanAttachment);
  return b;
}

function cleanAttachment(a: WecomAttachment): Record<string, unknown> {
  const o: Record<string, unknown> = { msgtype: a.msgtype };
  const inner = a[a.msgtype];
  if (inner !== undefined) o[a.msgtype] = inner;
  return o;
}

interface Attempt {
  at: number;
}

/** One channel's client: its options, its token source, and the first attempts of this instance's sends. */
interface Wecom {
  ctx: DriverContext;
  http: HttpClient;
  concurrency: number;
  deferSeconds: number;
  maxSplitDepth: number;
  capStatus3: "defer" | "recipient";
  lookbackMs: number;
  slackMs: number;
  /** Ledger key → first attempt (fake-clock ms), for reconcile's time window. */
  attempts: Map<string, Attempt>;
  callApi(path: string, body: Record<string, unknown>, mutating: boolean): Promise<TokenCallResult>;
}

function client(ctx: DriverContext): Wecom {
  const corpId = ctx.secrets.corp_id ?? "";
  const secret = ctx.secrets.secret ?? "";
  const secretValues = [secret, corpId];
  const http: HttpClient = createHttpClient({ timeoutMs: ctx.timeoutMs });
  const url = (path: string) => providerUrl(ctx.baseUrl, DEFAULT_ORIGIN, path);
  const origin = url("");
  const o = ctx.options ?? {};
  const concurrency = Math.max(1, Math.floor(numOpt(o, "concurrency", 2)));
  const deferSeconds = numOpt(o, "defer_seconds", 60);
  const maxSplitDepth = Math.max(0, Math.floor(numOpt(o, "split_depth", 14)));
  const capStatus3: "defer" | "recipient" = o.cap_status3 === "recipient" ? "recipient" : "defer";
  const lookbackMs = numOpt(o, "reconcile_lookback_minutes", 24 * 60) * 60_000;
  const slackMs = numOpt(o, "reconcile_slack_minutes", 10) * 60_000;

  const safe = (s: string) => redact(s, secretValues);

  const tokens = accessTokens(ctx, `wecom|${origin}|${corpId}|${createHash("sha256").update(secret).digest("hex").slice(0, 16)}`, async () => {
    if (!corpId || !secret) return { ok: false, outcome: failed("stop", "no_credentials", "wecom: corp_id or secret is not set") };
    const r = await http.call({ method: "GET", url: url("/cgi-bin/gettoken"), searchParams: { corpid: corpId, corpsecret: secret } });
    if (!r.ok) return { ok: false, outcome: failed("retry", r.code, `wecom gettoken: ${r.message}`) };
    const j = r.json;
    if (!isObj(j)) return { ok: false, outcome: failed("retry", `http_${r.status}`, `wecom gettoken: HTTP ${r.status}, no JSON body`) };
    const code = Number(j.errcode ?? 0);
    if (code === 0 && typeof j.access_token === "string" && j.access_token !== "")
      return { ok: true, token: j.access_token, expiresIn: numOpt(j, "expires_in", 7200) };
    const msg = safe(`wecom gettoken ${code}: ${String(j.errmsg ?? "")}`);
    if (code === -1) return { ok: false, outcome: failed("retry", "-1", msg) };
    if (code === 45009) return { ok: false, outcome: failed("defer", "45009", msg, ctx.now() + deferSeconds * 1000) };
    // 40001 invalid secret, 40013 invalid corpid, 41002/41004 missing, anything else: account-level.
    return { ok: false, outcome: failed("stop", String(code), msg) };
  });
  const spec: TokenCallSpec = {
    provider: "wecom",
    origin: DEFAULT_ORIGIN,
    refreshCodes: WECOM_TOKEN_CODES,
    secrets: secretValues,
    mayHave: "the task may have been created",
  };
  const callApi = (path: string, body: Record<string, unknown>, mutating: boolean) =>
    callWithToken(ctx, http, tokens, spec, { path, body, what: path.slice(path.lastIndexOf("/") + 1), mutating });
  return { ctx, http, concurrency, deferSeconds, maxSplitDepth, capStatus3, lookbackMs, slackMs, attempts: new Map(), callApi };
}

function classify(w: Wecom, code: number, errmsg: string, what: string): Failed {
  const cls = WECOM_ERROR_CLASSES[code] ?? "request";
  const msg = `wecom ${what} ${code}: ${errmsg}`;
  if (cls === "defer") return failed("defer", String(code), msg, w.ctx.now() + w.deferSeconds * 1000);
  return failed(cls, String(code), msg);
}

// ------------------------------------------------------------------ send
/** One add_msg_template for requests sharing sender and content; 40096 splits the ids in halves. */
async function createTask(w: Wecom, reqs: SendRequest[], depth: number): Promise<SendOutcome[]> {
  const first = reqs[0];
  const content = first.content as WecomContent;
  const ids = [...new Set(reqs.map((r) => r.address))];
  const now = w.ctx.now();
  for (const r of reqs) if (!w.attempts.has(r.key)) w.attempts.set(r.key, { at: now });
  const res = await w.callApi(`${EP}/add_msg_template`, { chat_type: "single", external_userid: ids, sender: first.sender, ...contentBody(content) }, true);
  if (!res.ok) return reqs.map(() => res.outcome);
  if (res.errcode === 0) {
    const msgid = typeof res.json.msgid === "string" ? res.json.msgid : String(res.json.msgid ?? "");
    const refused = new Set(Array.isArray(res.json.fail_list) ? res.json.fail_list.map(String) : []);
    if (!msgid) return reqs.map(() => failed("ambiguous", "no_msgid", "wecom add_msg_template: ok without a msgid"));
    return reqs.map((r) =>
      refused.has(r.address)
        ? failed("recipient", "fail_list", `wecom: ${r.address === "" ? "empty id" : "external_userid"} not sendable by ${r.sender} (fail_list)`)
        : { status: "queued", providerId: msgid },
    );
  }
  if (res.errcode === 40096 && ids.length > 1 && depth < w.maxSplitDepth) {
    const half = new Set(ids.slice(0, Math.ceil(ids.length / 2)));
    const a = reqs.filter((r) => half.has(r.address));
    const b = reqs.filter((r) => !half.has(r.address));
    const [oa, ob] = [await createTask(w, a, depth + 1), await createTask(w, b, depth + 1)];
    const byReq = new Map<SendRequest, SendOutcome>();
    a.forEach((r, i) => byReq.set(r, oa[i]));
    b.forEach((r, i) => byReq.set(r, ob[i]));
    return reqs.map((r) => byReq.get(r)!);
  }
  if (res.errcode === 40096 && ids.length > 1) {
    const o = failed("request", "40096", `wecom add_msg_template 40096: ${res.errmsg} (split depth ${w.maxSplitDepth} reached)`);
    return reqs.map(() => o);
  }
  const o = classify(w, res.errcode, res.errmsg, "add_msg_template");
  return reqs.map(() => o);
}

async function send(w: Wecom, batch: SendRequest[]): Promise<SendOutcome[]> {
  const out: SendOutcome[] = new Array(batch.length);
  const groups = new Map<string, number[]>();
  batch.forEach((r, i) => {
    if (r.content.kind !== "wecom") {
      out[i] = failed("request", "content_kind", `wecom: content of kind ${r.content.kind} cannot be sent by this driver`);
      return;
    }
    if (!r.sender) {
      out[i] = failed("recipient", "no_sender", "wecom: the member has no staff owner (sender)");
      return;
    }
    if (!r.address) {
      out[i] = failed("recipient", "no_address", "wecom: the member has no external_userid");
      return;
    }
    const k = `${r.sender}\u0000${contentKey(r.content)}`;
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  const chunks: number[][] = [];
  for (const idxs of groups.values()) for (let i = 0; i < idxs.length; i += MAX_IDS) chunks.push(idxs.slice(i, i + MAX_IDS));
  await mapLimit(chunks, w.concurrency, async (idxs) => {
    const outcomes = await createTask(
      w,
      idxs.map((i) => batch[i]),
      0,
    );
    idxs.forEach((i, j) => (out[i] = outcomes[j]));
  });
  return out;
}

// ------------------------------------------------------------------ reconcile (docs/channels.md, "Idempotency")
async function pages(w: Wecom, path: string, body: Record<string, unknown>, listField: string): Promise<Record<string, unknown>[] | undefined> {
  const all: Record<string, unknown>[] = [];
  let cursor = "";
  for (let i = 0; i < 1000; i++) {
    const res = await w.callApi(path, cursor ? { ...body, cursor } : body, false);
    if (!res.ok || res.errcode !== 0) return undefined;
    const list = res.json[listField];
    if (Array.isArray(list)) for (const x of list) if (isObj(x)) all.push(x);
    const next = typeof res.json.next_cursor === "string" ? res.json.next_cursor : "";
    if (!next || next === cursor) return all;
    cursor = next;
  }
  return all;
}

function sameContent(task: Record<string, unknown>, c: WecomContent): boolean {
  const text = isObj(task.text) && typeof task.text.content === "string" ? task.text.content : undefined;
  if ((text ?? "") !== (c.text ?? "")) return false;
  const types = Array.isArray(task.attachments) ? task.attachments.map((a) => (isObj(a) ? String(a.msgtype) : "")) : [];
  return JSON.stringify(types) === JSON.stringify((c.attachments ?? []).map((a) => a.msgtype));
}

const STATUS_RANK: Record<number, number> = { 1: 4, 0: 3, 3: 2, 2: 1 };

async function reconcileGroup(w: Wecom, reqs: SendRequest[]): Promise<(SendOutcome | undefined)[]> {
  const sender = reqs[0].sender!;
  const content = reqs[0].content as WecomContent;
  const now = w.ctx.now();
  const known = reqs.map((r) => w.attempts.get(r.key)?.at ?? r.firstAttemptAt).filter((x): x is number => x !== undefined);
  const from = known.length > 0 ? Math.min(...known) - w.slackMs : now - w.lookbackMs;
  const to = Math.max(now, from) + w.slackMs;
  const start = Math.max(from, to - 30 * 86_400_000);
  const list = await pages(
    w,
    `${EP}/get_groupmsg_list_v2`,
    { chat_type: "single", start_time: Math.floor(start / 1000), end_time: Math.floor(to / 1000), filter_type: 0, limit: 100 },
    "group_msg_list",
  );
  if (!list) return reqs.map(() => undefined);
  const candidates = list.filter((t) => t.creator === undefined || t.creator === "").filter((t) => sameContent(t, content));
  const best = new Map<string, { status: number; msgid: string }>();
  for (const t of candidates) {
    const msgid = String(t.msgid ?? "");
    if (!msgid) continue;
    const tasks = await pages(w, `${EP}/get_groupmsg_task`, { msgid, limit: 1000 }, "task_list");
    if (!tasks) return reqs.map(() => undefined); // cannot tell (e.g. 41063 right after creation)
    if (!tasks.some((x) => x.userid === sender)) continue;
    const results = await pages(w, `${EP}/get_groupmsg_send_result`, { msgid, userid: sender, limit: 1000 }, "send_list");
    if (!results) return reqs.map(() => undefined);
    for (const x of results) {
      const ext = String(x.external_userid ?? "");
      const status = Number(x.status);
      const prev = best.get(ext);
      if (!prev || (STATUS_RANK[status] ?? 0) > (STATUS_RANK[prev.status] ?? 0)) best.set(ext, { status, msgid });
    }
  }
  return reqs.map((r): SendOutcome => {
    const b = best.get(r.address);
    if (!b) return failed("retry", "not_created", "wecom: no task for this customer was found around the attempt; safe to send again");
    switch (b.status) {
      case 1:
        return { status: "sent", providerId: b.msgid };
      case 0:
        return { status: "queued", providerId: b.msgid };
      case 2:
        return failed("recipient", "status_2", "wecom: the customer is not a friend of the sender");
      case 3:
        return w.capStatus3 === "recipient"
          ? failed("recipient", "status_3", "wecom: the customer already received a mass message (provider cap)")
          : failed("defer", "status_3", "wecom: the customer already received a mass message (provider cap)", now + 86_400_000);
      default:
        return failed("request", `status_${b.status}`, `wecom: unknown send status ${b.status}`);
    }
  });
}

async function reconcile(w: Wecom, requests: SendRequest[]): Promise<(SendOutcome | undefined)[]> {
  const out: (SendOutcome | undefined)[] = new Array(requests.length).fill(undefined);
  const groups = new Map<string, number[]>();
  requests.forEach((r, i) => {
    if (r.content.kind !== "wecom" || !r.sender) return;
    const k = `${r.sender}\u0000${contentKey(r.content)}`;
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  for (const idxs of groups.values()) {
    const res = await reconcileGroup(
      w,
      idxs.map((i) => requests[i]),
    );
    idxs.forEach((i, j) => (out[i] = res[j]));
  }
  return out;
}

// ------------------------------------------------------------------ queued tasks (docs/channels.md, WeCom)
/**
 * Each task (msgid, sender) once: get_groupmsg_task tells whether the staff member confirmed; only then does
 * get_groupmsg_send_result say, per customer, 1 sent, 2 not a contact, 3 already received a mass message.
 */
async function poll(w: Wecom, requests: QueuedRequest[]): Promise<(SendOutcome | undefined)[]> {
  const out: (SendOutcome | undefined)[] = new Array(requests.length).fill(undefined);
  const tasks = new Map<string, number[]>();
  requests.forEach((r, i) => {
    if (!r.sender || !r.providerId) return;
    const k = `${r.providerId}\u0000${r.sender}`;
    const g = tasks.get(k);
    if (g) g.push(i);
    else tasks.set(k, [i]);
  });
  await mapLimit([...tasks.values()], w.concurrency, async (idxs) => {
    const { providerId: msgid, sender } = requests[idxs[0]!]!;
    const staff = await pages(w, `${EP}/get_groupmsg_task`, { msgid, limit: 1000 }, "task_list");
    // Not readable yet (41063 right after creation, a transport error): still queued, asked again next run.
    if (!staff || !staff.some((x) => x.userid === sender && Number(x.status) === 2)) return;
    const results = await pages(w, `${EP}/get_groupmsg_send_result`, { msgid, userid: sender, limit: 1000 }, "send_list");
    if (!results) return;
    const byId = new Map(results.map((x) => [String(x.external_userid ?? ""), Number(x.status)]));
    for (const i of idxs) {
      const r = requests[i]!;
      switch (byId.get(r.address)) {
        case 1:
          out[i] = { status: "sent", providerId: msgid };
          break;
        case 2:
          out[i] = failed("recipient", "status_2", `wecom: the customer is not a contact of ${sender}`);
          break;
        case 3:
          // Over the provider's per-customer cap (possibly by the staff member's own mass messages): this send is
          // over, and another channel would only add to the messages the customer got today.
          out[i] = failed("request", "status_3", "wecom: the customer already received a mass message (provider cap)");
          break;
      }
    }
  });
  return out;
}

async function cancel(w: Wecom, msgid: string): Promise<boolean> {
  const res = await w.callApi(`${EP}/cancel_groupmsg_send`, { msgid }, true);
  return res.ok && res.errcode === 0;
}

function create(ctx: DriverContext): DriverInstance {
  const w = client(ctx);
  return {
    send: (batch) => send(w, batch),
    reconcile: (requests) => reconcile(w, requests),
    poll: (requests) => poll(w, requests),
    cancel: (msgid) => cancel(w, msgid),
    async close() {
      w.http.close();
    },
  };
}

const wecom: Driver = {
  name: "wecom",
  contentKind: "wecom",
  batchLimit: MAX_IDS,
  batchSameContent: true,
  secrets: ["corp_id", "secret"],
  paced: true,
  create,
};

export default wecom;
