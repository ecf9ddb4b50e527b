/**
 * Loopback fake of WeCom's customer mass message (docs/channels.md): gettoken, add_msg_template,
 * get_groupmsg_list_v2, get_groupmsg_task, get_groupmsg_send_result, remind_groupmsg_send, cancel_groupmsg_send.
 *
 * A created task waits for its staff member; `confirm(msgid, userid)` plays them pressing send, after which non-friends
 * get status 2 and customers over the cap policy status 3.
 */
import {
  type CommonFakeOptions,
  type Fault,
  type FaultLogEntry,
  type FakeRequest,
  type FakeResponse,
  FaultInjector,
  RateLimiter,
  TokenStore,
  startFakeServer,
  utf8Bytes,
} from "./common.js";

export type WecomCapPolicy = "days-in-month" | "7/week" | "1/day" | "4/month" | "none";

export interface WecomFakeOptions extends CommonFakeOptions {
  corpId?: string;
  secret?: string;
  /** staff userid → the external_userids that are its customers (friends). */
  staff?: Record<string, string[]>;
  /** Per-customer cap applied at confirmation. Default `1/day`. */
  capPolicy?: WecomCapPolicy;
  /**
   * What an id that is no customer of anyone does: lands in `fail_list` (default) or fails the whole call with
   * `40096` (a behaviour WeCom does not document).
   */
  unknownIdMode?: "fail_list" | "40096";
  /** The records APIs answer `41063` for this long (fake ms) after a task's creation. Default 0. */
  recordsDelayMs?: number;
  /** Confirm every task as soon as it is created. Default false. */
  autoConfirm?: boolean;
  /**
   * The staff script: staff userid → the number of `get_groupmsg_task` polls of one of its tasks after which the
   * staff member confirms it (the poll that reaches N sees it confirmed; 0 = at creation). Staff not listed never
   * confirm (unless `autoConfirm`).
   */
  confirmAfterPolls?: Record<string, number>;
}

export interface WecomTask {
  msgid: string;
  /** Seconds. */
  createTime: number;
  sender?: string;
  externalIds: string[];
  text?: string;
  attachments: unknown[];
  /** Staff status: 0 not sent, 2 sent. */
  staffStatus: 0 | 2;
  staffSendTime?: number;
  /** external_userid → status (0 not sent, 1 sent, 2 not a friend, 3 over the cap) and send time (s). */
  results: Map<string, { status: 0 | 1 | 2 | 3; sendTime?: number }>;
  canceled: boolean;
  reminders: number[];
  /** `get_groupmsg_task` calls about this task. */
  polls: number;
}

export interface WecomDelivery {
  msgid: string;
  sender?: string;
  externalUserid: string;
  /** Fake-clock ms of the task's creation. */
  at: number;
}

export interface WecomFakeState {
  staff: Map<string, Set<string>>;
  tasks: Map<string, WecomTask>;
  /** external_userid → times (ms) it received a mass message. */
  received: Map<string, number[]>;
  tokens: TokenStore;
  injector: FaultInjector;
  /** add_msg_template calls that reached the handler (after fault injection), in order. */
  createCalls: { sender?: string; count: number; errcode: number }[];
  /** get_groupmsg_send_result calls that reached the handler, in order: the page asked for (`cursor`, "" for the first). */
  resultCalls: { msgid: string; userid: string; cursor: string; returned: number }[];
}

export interface WecomFake {
  url: string;
  close(): Promise<void>;
  state: WecomFakeState;
  /** The staff member presses send: results become 1 / 2 / 3. Returns false for an unknown or canceled task. */
  confirm(msgid: string, userid?: string): boolean;
  /** Appends faults to the script. */
  script(...faults: Fault[]): void;
  /** Every recipient accepted into a task (not in `fail_list`), in order. */
  deliveries(): WecomDelivery[];
  /** Every recipient whose status is 1 (sent after confirmation). */
  sent(): WecomDelivery[];
  /** The fault log. */
  faults(): FaultLogEntry[];
  /** Makes a customer no longer a friend of `userid`. */
  removeFriend(userid: string, externalUserid: string): void;
}

const ERRMSG: Record<number, string> = {
  0: "ok",
  [-1]: "system busy",
  40001: "invalid credential",
  40003: "invalid userid",
  40008: "invalid message type",
  40013: "invalid corpid",
  40014: "invalid access_token",
  40058: "invalid parameter",
  40096: "invalid external userid",
  41001: "access_token missing",
  41002: "corpid missing",
  41004: "corpsecret missing",
  41063: "mass message is being sent, please try again later",
  42001: "access_token expired",
  44004: "empty content",
  45002: "content size out of limit",
  45009: "api freq out of limit",
  45033: "api concurrent out of limit",
  47001: "data format error",
  84061: "not external contact",
};

function err(code: number, detail?: string): FakeResponse {
  const base = ERRMSG[code] ?? "error";
  return { body: { errcode: code, errmsg: detail ? `${base}, ${detail}` : base } };
}

const ATTACH_TYPES = new Set(["image", "link", "miniprogram", "video", "file"]);

function capAllows(policy: WecomCapPolicy, times: number[], now: number): boolean {
  const offset = 8 * 3600_000; // Asia/Shanghai
  const local = new Date(now + offset);
  const y = local.getUTCFullYear();
  const m = local.getUTCMonth();
  const startOfDay = Date.UTC(y, m, local.getUTCDate()) - offset;
  const startOfMonth = Date.UTC(y, m, 1) - offset;
  const dow = (local.getUTCDay() + 6) % 7; // Monday = 0
  const startOfWeek = startOfDay - dow * 86_400_000;
  const count = (from: number) => times.filter((t) => t >= from && t <= now).length;
  switch (policy) {
    case "none":
      return true;
    case "1/day":
      return count(startOfDay) < 1;
    case "7/week":
      return count(startOfWeek) < 7;
    case "4/month":
      return count(startOfMonth) < 4;
    case "days-in-month": {
      const days = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
      return count(startOfMonth) < days;
    }
  }
}

export async function startWecomFake(opts: WecomFakeOptions = {}): Promise<WecomFake> {
  const clock = opts.clock ?? (() => Date.now());
  const corpId = opts.corpId ?? "ww_test_corp";
  const secret = opts.secret ?? "wecom_test_secret_0123456789";
  const policy = opts.capPolicy ?? "1/day";
  const injector = new FaultInjector(opts, clock);
  const limiter = new RateLimiter(opts.rateLimit, clock);
  const tokens = new TokenStore(clock, opts.tokenTtlSeconds ?? 7200, opts.tokenMaxUses ?? Number.POSITIVE_INFINITY);
  const state: WecomFakeState = {
    staff: new Map(Object.entries(opts.staff ?? {}).map(([k, v]) => [k, new Set(v)])),
    tasks: new Map(),
    received: new Map(),
    tokens,
    injector,
    createCalls: [],
    resultCalls: [],
  };
  const ledger: WecomDelivery[] = [];
  let msgSeq = 0;
  const recipientErrors = opts.recipientErrors ?? {};

  const knownCustomer = (id: string) => [...state.staff.values()].some((s) => s.has(id));

  const confirm = (msgid: string, userid?: string): boolean => {
    const task = state.tasks.get(msgid);
    if (!task || task.canceled) return false;
    if (userid !== undefined && task.sender !== undefined && userid !== task.sender) return false;
    if (task.staffStatus === 2) return true;
    const now = clock();
    task.staffStatus = 2;
    task.staffSendTime = Math.floor(now / 1000);
    const friends = task.sender ? state.staff.get(task.sender) : undefined;
    for (const [ext, r] of task.results) {
      if (friends && !friends.has(ext)) {
        r.status = 2;
        continue;
      }
      const times = state.received.get(ext) ?? [];
      if (!capAllows(policy, times, now)) {
        r.status = 3;
        continue;
      }
      times.push(now);
      state.received.set(ext, times);
      r.status = 1;
      r.sendTime = Math.floor(now / 1000);
    }
    return true;
  };

  function checkToken(req: FakeRequest): FakeResponse | undefined {
    const t = tokens.use(req.query.get("access_token"));
    if (t.check === "missing") return err(41001);
    if (t.check === "unknown") return err(40014);
    if (t.check === "expired") return err(42001);
    return undefined;
  }

  function body(req: FakeRequest): Record<string, unknown> | undefined {
    if (req.jsonError || typeof req.json !== "object" || req.json === null || Array.isArray(req.json)) return undefined;
    return req.json as Record<string, unknown>;
  }

  function paged<T>(items: T[], b: Record<string, unknown>, max: number): { page: T[]; next: string } {
    const limit = Math.min(Math.max(1, Number(b.limit ?? max)), max);
    const start = Number(b.cursor ?? 0) || 0;
    const page = items.slice(start, start + limit);
    return { page, next: start + limit < items.length ? String(start + limit) : "" };
  }

  function recordsReady(task: WecomTask): boolean {
    return clock() >= task.createTime * 1000 + (opts.recordsDelayMs ?? 0);
  }

  function addMsgTemplate(b: Record<string, unknown>): FakeResponse {
    const record = (errcode: number, r: FakeResponse) => {
      state.createCalls.push({
        sender: typeof b.sender === "string" ? b.sender : undefined,
        count: Array.isArray(b.external_userid) ? b.external_userid.length : 0,
        errcode,
      });
      return r;
    };
    const chatType = b.chat_type ?? "single";
    if (chatType !== "single" && chatType !== "group") return record(40058, err(40058, "chat_type"));
    const sender = b.sender;
    if (sender !== undefined && typeof sender !== "string") return record(40058, err(40058, "sender"));
    if (chatType === "group" && !sender) return record(40058, err(40058, "sender required for group"));
    const ids = b.external_userid;
    if (ids !== undefined && (!Array.isArray(ids) || ids.some((x) => typeof x !== "string"))) return record(40058, err(40058, "external_userid"));
    const extIds = (ids as string[] | undefined) ?? [];
    if (extIds.length > 10_000) return record(40058, err(40058, "external_userid exceeds 10000"));
    if (!sender && extIds.length === 0 && b.tag_filter === undefined) return record(40058, err(40058, "no target"));
    if (sender && !state.staff.has(sender)) return record(40003, err(40003));
    const text = b.text as { content?: unknown } | undefined;
    if (text !== undefined && (typeof text !== "object" || text === null || typeof text.content !== "string")) return record(40058, err(40058, "text"));
    if (text && utf8Bytes(text.content as string) > 4000) return record(45002, err(45002, "text.content over 4000 bytes"));
    const atts = b.attachments;
    if (atts !== undefined && !Array.isArray(atts)) return record(40058, err(40058, "attachments"));
    const attList = (atts as Record<string, unknown>[] | undefined) ?? [];
    if (attList.length > 9) return record(40058, err(40058, "attachments over 9"));
    if ((!text || text.content === "") && attList.length === 0) return record(44004, err(44004));
    for (const a of attList) {
      const mt = a?.msgtype;
      if (typeof mt !== "string" || !ATTACH_TYPES.has(mt) || typeof a[mt] !== "object" || a[mt] === null) return record(40008, err(40008));
      const o = a[mt] as Record<string, unknown>;
      const s = (k: string) => (typeof o[k] === "string" ? (o[k] as string) : undefined);
      if (mt === "image" && !s("media_id") && !s("pic_url")) return record(40058, err(40058, "image.media_id"));
      if (mt === "link") {
        if (!s("title") || utf8Bytes(s("title")!) > 128) return record(40058, err(40058, "link.title"));
        if (!s("url") || utf8Bytes(s("url")!) > 2048) return record(40058, err(40058, "link.url"));
        if ((s("desc") && utf8Bytes(s("desc")!) > 512) || (s("picurl") && utf8Bytes(s("picurl")!) > 2048)) return record(40058, err(40058, "link"));
      }
      if (mt === "miniprogram" && (!s("title") || utf8Bytes(s("title")!) > 64 || !s("pic_media_id") || !s("appid") || !s("page"))) {
        return record(40058, err(40058, "miniprogram"));
      }
      if ((mt === "video" || mt === "file") && !s("media_id")) return record(40058, err(40058, `${mt}.media_id`));
    }
    // Whole-call errors triggered by a listed id.
    for (const id of extIds) {
      const code = recipientErrors[id];
      if (code !== undefined && Number(code) === 40096) return record(40096, err(40096));
      if (opts.unknownIdMode === "40096" && !knownCustomer(id)) return record(40096, err(40096));
    }
    const lim = limiter.hit("add_msg_template");
    if (lim) return record(45009, err(45009, `${lim} limit`));

    const friends = sender ? state.staff.get(sender)! : undefined;
    const targets = extIds.length > 0 ? extIds : friends ? [...friends] : [];
    const failList: string[] = [];
    const accepted: string[] = [];
    for (const id of [...new Set(targets)]) {
      if (recipientErrors[id] !== undefined || !knownCustomer(id) || (friends && !friends.has(id))) failList.push(id);
      else accepted.push(id);
    }
    const now = clock();
    const msgid = `msg${(++msgSeq).toString().padStart(6, "0")}_${now.toString(36)}`;
    const task: WecomTask = {
      msgid,
      createTime: Math.floor(now / 1000),
      sender,
      externalIds: accepted,
      text: text?.content as string | undefined,
      attachments: attList,
      staffStatus: 0,
      results: new Map(accepted.map((id) => [id, { status: 0 as const }])),
      canceled: false,
      reminders: [],
      polls: 0,
    };
    state.tasks.set(msgid, task);
    for (const id of accepted) ledger.push({ msgid, sender, externalUserid: id, at: now });
    if (opts.autoConfirm || (sender !== undefined && opts.confirmAfterPolls?.[sender] === 0)) confirm(msgid);
    return record(0, { body: { errcode: 0, errmsg: "ok", fail_list: failList, msgid } });
  }

  function handler(req: FakeRequest): FakeResponse {
    const p = req.path;
    if (p === "/cgi-bin/gettoken") {
      if (req.method !== "GET") return { status: 405, body: "method not allowed", contentType: "text/plain" };
      const cid = req.query.get("corpid");
      const cs = req.query.get("corpsecret");
      if (!cid) return err(41002);
      if (!cs) return err(41004);
      if (cid !== corpId) return err(40013);
      if (cs !== secret) return err(40001);
      const { token, expiresIn } = tokens.issue(cid);
      return { body: { errcode: 0, errmsg: "ok", access_token: token, expires_in: expiresIn } };
    }
    const known = [
      "/cgi-bin/externalcontact/add_msg_template",
      "/cgi-bin/externalcontact/get_groupmsg_list_v2",
      "/cgi-bin/externalcontact/get_groupmsg_task",
      "/cgi-bin/externalcontact/get_groupmsg_send_result",
      "/cgi-bin/externalcontact/remind_groupmsg_send",
      "/cgi-bin/externalcontact/cancel_groupmsg_send",
    ];
    if (!known.includes(p)) return { status: 404, body: "not found", contentType: "text/plain" };
    if (req.method !== "POST") return { status: 405, body: "method not allowed", contentType: "text/plain" };
    const tokErr = checkToken(req);
    if (tokErr) return tokErr;
    const b = body(req);
    if (!b) return err(47001);

    if (p.endsWith("/add_msg_template")) return addMsgTemplate(b);

    if (p.endsWith("/get_groupmsg_list_v2")) {
      const chatType = b.chat_type ?? "single";
      const st = Number(b.start_time);
      const et = Number(b.end_time);
      if (!Number.isFinite(st) || !Number.isFinite(et) || et < st) return err(40058, "start_time/end_time");
      if (et - st > 31 * 86400) return err(40058, "time range over one month");
      const filterType = Number(b.filter_type ?? 2);
      const creator = typeof b.creator === "string" ? b.creator : undefined;
      const items = [...state.tasks.values()]
        .filter((t) => chatType === "single" && t.createTime >= st && t.createTime <= et)
        .filter(() => filterType !== 1) // every task of this fake is created by the enterprise (API)
        .filter(() => creator === undefined) // API-created tasks carry no creator
        .sort((a, c) => c.createTime - a.createTime);
      const { page, next } = paged(items, b, 100);
      return {
        body: {
          errcode: 0,
          errmsg: "ok",
          next_cursor: next,
          group_msg_list: page.map((t) => ({
            msgid: t.msgid,
            create_time: String(t.createTime),
            create_type: 0,
            ...(t.text !== undefined ? { text: { content: t.text } } : {}),
            attachments: t.attachments,
          })),
        },
      };
    }

    const msgid = typeof b.msgid === "string" ? b.msgid : undefined;
    const task = msgid ? state.tasks.get(msgid) : undefined;
    if (!task) return err(40058, "msgid");

    if (p.endsWith("/get_groupmsg_task")) {
      if (!recordsReady(task)) return err(41063);
      task.polls++;
      const after = task.sender !== undefined ? opts.confirmAfterPolls?.[task.sender] : undefined;
      if (after !== undefined && task.polls >= after) confirm(task.msgid);
      const list = [{ userid: task.sender ?? "", status: task.staffStatus, ...(task.staffSendTime ? { send_time: task.staffSendTime } : {}) }];
      const { page, next } = paged(list, b, 1000);
      return { body: { errcode: 0, errmsg: "ok", next_cursor: next, task_list: page } };
    }
    if (p.endsWith("/get_groupmsg_send_result")) {
      if (!recordsReady(task)) return err(41063);
      const userid = typeof b.userid === "string" ? b.userid : undefined;
      if (!userid) return err(40058, "userid");
      const list =
        userid === task.sender
          ? [...task.results].map(([ext, r]) => ({ external_userid: ext, userid, status: r.status, ...(r.sendTime ? { send_time: r.sendTime } : {}) }))
          : [];
      const { page, next } = paged(list, b, 1000);
      state.resultCalls.push({ msgid: task.msgid, userid, cursor: typeof b.cursor === "string" ? b.cursor : "", returned: page.length });
      return { body: { errcode: 0, errmsg: "ok", next_cursor: next, send_list: page } };
    }
    if (p.endsWith("/remind_groupmsg_send")) {
      const now = clock();
      task.reminders = task.reminders.filter((t) => t > now - 86_400_000);
      if (task.reminders.length >= 3) return err(45009, "at most 3 reminders per 24 h");
      task.reminders.push(now);
      return { body: { errcode: 0, errmsg: "ok" } };
    }
    // cancel_groupmsg_send
    task.canceled = true;
    return { body: { errcode: 0, errmsg: "ok" } };
  }

  const server = await startFakeServer({
    handler,
    injector,
    faultable: (r) => r.path !== "/cgi-bin/gettoken",
    httpErrorBody: () => ({ errcode: -1, errmsg: "system busy" }),
    errorBody: (code) => ({ errcode: Number(code), errmsg: ERRMSG[Number(code)] ?? "error" }),
    contentType: "application/json; charset=UTF-8",
  });

  return {
    url: server.url,
    close: server.close,
    state,
    confirm,
    script: (...f) => injector.push(...f),
    deliveries: () => [...ledger],
    sent: () =>
      [...state.tasks.values()].flatMap((t) =>
        [...t.results]
          .filter(([, r]) => r.status === 1)
          .map(([ext]) => ({ msgid: t.msgid, sender: t.sender, externalUserid: ext, at: (t.results.get(ext)!.sendTime ?? 0) * 1000 })),
      ),
    faults: () => [...injector.log],
    removeFriend: (userid, ext) => void state.staff.get(userid)?.delete(ext),
  };
}
