/**
 * A realistic, deterministic member snapshot for demos, tests and benchmarks, shaped like docs/configuration.md's
 * example schema: member_id M0000001…, Chinese names, 11-digit mobiles, birthdays (some on 29 February),
 * a tier mix (normal 55 %, silver 25 %, gold 12 %, platinum 6 %, diamond 2 %), points, registration over
 * five years, purchase recency with a long tail (some never), tags, distance with far-away fans, WeCom
 * contacts for ~60 % among ~20 staff, openids for ~70 %, SMS consent ~80 %, unsubscribed ~3 %.
 *
 * Same seed, count, format and `asOf` → the same bytes. Lines are built in large chunks, so ten million
 * rows take seconds, not minutes. Dates are relative to `asOf` (default 2026-06-01), never the clock.
 */
import { createWriteStream } from "node:fs";
import { once } from "node:events";

export type SampleFormat = "csv" | "jsonl";

export interface SampleOptions {
  count: number;
  seed: number;
  format?: SampleFormat;
  /** The snapshot's "today" (YYYY-MM-DD): registrations and purchases lie before it. Default 2026-06-01. */
  asOf?: string;
  /** Rows per yielded chunk (default 20,000). */
  chunkRows?: number;
}

/** The columns, in the order of docs/configuration.md. */
export const SAMPLE_COLUMNS = [
  "member_id",
  "name",
  "mobile",
  "gender",
  "birthday",
  "tier",
  "points",
  "registered_at",
  "last_purchase_at",
  "spend_12m",
  "tags",
  "distance_km",
  "wecom_external_userid",
  "wecom_owner",
  "openid",
  "oa_subscribed",
  "sms_opt_in",
  "unsubscribed",
  "points_expiring",
  "points_expire_at",
  "tier_changed_at",
  "tier_change",
] as const;

/** The member schema the sample fits, as it would be written in chuda.yaml. */
export const SAMPLE_SCHEMA_YAML = `members:
  key: member_id
  fields:
    member_id: string
    name: string
    mobile: phone
    gender: { enum: [F, M] }
    birthday: date
    tier: { enum: [normal, silver, gold, platinum, diamond] }
    points: number
    registered_at: datetime
    last_purchase_at: datetime
    spend_12m: number
    tags: list
    distance_km: number
    wecom_external_userid: string
    wecom_owner: string
    openid: string
    oa_subscribed: bool
    sms_opt_in: bool
    unsubscribed: bool
    points_expiring: number
    points_expire_at: date
    tier_changed_at: datetime
    tier_change: { enum: [up, down] }
  distance: distance_km
`;

const SURNAMES =
  "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤";
const GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰红燕华玲丹萍鹏辉宇浩晨欣怡婷雪梅琳子涵轩然博文思佳雨萱梓睿一诺嘉俊昊天";
const TIERS = ["normal", "silver", "gold", "platinum", "diamond"] as const;
/** Cumulative tier shares: 55 / 25 / 12 / 6 / 2 %. */
const TIER_CUT = [0.55, 0.8, 0.92, 0.98, 1];
const TAGS = ["亲子", "美妆", "餐饮", "运动", "奢品", "电影", "宠物", "数码"];
const MOBILE_PREFIX = [
  "130",
  "131",
  "132",
  "133",
  "135",
  "136",
  "137",
  "138",
  "139",
  "150",
  "151",
  "152",
  "155",
  "156",
  "158",
  "159",
  "180",
  "181",
  "183",
  "186",
  "187",
  "188",
  "189",
];
const STAFF = Array.from({ length: 20 }, (_, i) => `staff${String(i + 1).padStart(2, "0")}`);
const ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-";

/** sfc32: a small, fast, well-mixed 32-bit generator; the seed is spread by splitmix32. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split(),
    b = split(),
    c = split(),
    d = split();
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

const DAY_MS = 86_400_000;

function dayNumber(date: string): number {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return Math.floor(Date.UTC(y, m - 1, d) / DAY_MS);
}

/** "YYYY-MM-DD" for day numbers, cached: most rows reuse a few tens of thousands of distinct days. */
function dateFormatter(): (day: number) => string {
  const cache = new Map<number, string>();
  return (day) => {
    let s = cache.get(day);
    if (s === undefined) {
      s = new Date(day * DAY_MS).toISOString().slice(0, 10);
      cache.set(day, s);
    }
    return s;
  };
}

/** A member drawn as numbers; writers render it. Reused for every row (no per-row garbage). */
interface Draw {
  surname: number;
  given1: number;
  /** -1 when the given name has one character. */
  given2: number;
  prefix: number;
  mobile: number;
  female: boolean;
  /** Day number of the birthday. */
  birthday: number;
  tier: number;
  points: number;
  regDay: number;
  regH: number;
  regM: number;
  regS: number;
  /** Day number of the last purchase, or -1 when the member never bought. */
  lpDay: number;
  lpH: number;
  lpM: number;
  spendCents: number;
  tags: number;
  /** Hundredths of a km. */
  distance: number;
  /** Indices into ALNUM; length 0 when absent. */
  wecom: Uint8Array;
  wecomLen: number;
  owner: number;
  openid: Uint8Array;
  openidLen: number;
  /** 0 false, 1 true, 2 missing. */
  oa: number;
  sms: number;
  unsub: boolean;
  /** Points lapsing at peDay (0: none). */
  pe: number;
  peDay: number;
  /** Last tier change (-1: none), its hour, and 0 up / 1 down. */
  tcDay: number;
  tcH: number;
  tcDown: number;
}

function newDraw(): Draw {
  return {
    surname: 0,
    given1: 0,
    given2: -1,
    prefix: 0,
    mobile: 0,
    female: false,
    birthday: 0,
    tier: 0,
    points: 0,
    regDay: 0,
    regH: 0,
    regM: 0,
    regS: 0,
    lpDay: -1,
    lpH: 0,
    lpM: 0,
    spendCents: 0,
    tags: 0,
    distance: 0,
    wecom: new Uint8Array(16),
    wecomLen: 0,
    owner: 0,
    openid: new Uint8Array(27),
    openidLen: 0,
    oa: 2,
    sms: 2,
    unsub: false,
    pe: 0,
    peDay: 0,
    tcDay: -1,
    tcH: 0,
    tcDown: 0,
  };
}

const LEAP_YEARS = [1960, 1964, 1968, 1972, 1976, 1980, 1984, 1988, 1992, 1996, 2000, 2004];

/** Draws member `i` in a fixed order, so the stream is reproducible. */
function draw(m: Draw, r: () => number, asOf: number): void {
  m.given1 = (r() * GIVEN.length) | 0;
  m.given2 = r() < 0.6 ? (r() * GIVEN.length) | 0 : -1;
  m.surname = (r() * SURNAMES.length) | 0;
  m.prefix = (r() * MOBILE_PREFIX.length) | 0;
  m.mobile = (r() * 1e8) | 0;
  m.female = r() < 0.62;
  // Ages 18–75; about 1 in 300 born on 29 February of a leap year.
  if (r() < 0.0035) m.birthday = dayNumber(`${LEAP_YEARS[(r() * LEAP_YEARS.length) | 0]}-02-29`);
  else m.birthday = asOf - 6570 - Math.floor(r() * 57 * 365.25);
  const tr = r();
  let t = 0;
  while (tr >= TIER_CUT[t]!) t++;
  m.tier = t;
  m.points = Math.floor(-Math.log(1 - r()) * 800 * (t + 1));
  m.regDay = asOf - 1 - Math.floor(r() * 5 * 365);
  m.regH = (9 + r() * 13) | 0;
  m.regM = (r() * 60) | 0;
  m.regS = (r() * 60) | 0;
  // Recency: 8 % never bought; the rest exponential with a long tail past a year.
  const never = r() < 0.08;
  const rec = Math.floor(-Math.log(1 - r()) * (90 + 40 * (4 - t)));
  m.lpDay = never ? -1 : Math.max(m.regDay, asOf - 1 - rec);
  m.lpH = (10 + r() * 12) | 0;
  m.lpM = (r() * 60) | 0;
  m.spendCents = never || rec > 365 ? 0 : Math.round(-Math.log(1 - r()) * 1500 * (t + 1) * 100);
  let tags = 0;
  for (let k = 0; k < TAGS.length; k++) if (r() < 0.18) tags |= 1 << k;
  m.tags = tags;
  // Distance: most live within 10 km, a long tail of far-away fans.
  m.distance = r() < 0.9 ? Math.round(r() * 1000) : Math.round((10 + -Math.log(1 - r()) * 60) * 100);
  m.wecomLen = r() < 0.6 ? 16 : 0;
  for (let k = 0; k < m.wecomLen; k++) m.wecom[k] = (r() * 64) | 0;
  m.owner = m.wecomLen ? (r() * STAFF.length) | 0 : 0;
  m.openidLen = r() < 0.7 ? 27 : 0;
  for (let k = 0; k < m.openidLen; k++) m.openid[k] = (r() * 64) | 0;
  m.oa = m.openidLen ? (r() < 0.85 ? 1 : 0) : 2;
  const s = r();
  m.sms = s < 0.8 ? 1 : s < 0.97 ? 0 : 2;
  m.unsub = r() < 0.03;
  // A quarter of members with points have some lapsing within two months.
  const lapsing = m.points >= 200 && r() < 0.25;
  m.pe = lapsing ? Math.max(100, Math.floor(m.points * (0.2 + r() * 0.5))) : 0;
  m.peDay = lapsing ? asOf + 1 + Math.floor(r() * 60) : 0;
  // One member in ten changed tier in the last three months, mostly upwards.
  const changed = r() < 0.1;
  m.tcDay = changed ? asOf - 1 - Math.floor(r() * 90) : -1;
  m.tcH = (r() * 24) | 0;
  m.tcDown = r() < 0.3 ? 1 : 0;
}

/** Appends bytes to a large buffer; flushes a full chunk to the consumer. */
class ByteWriter {
  buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  ascii(s: string): void {
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  byte(c: number): void {
    this.buf[this.pos++] = c;
  }
  /** A non-negative integer. */
  int(n: number): void {
    if (n < 10) {
      this.buf[this.pos++] = 48 + n;
      return;
    }
    const start = this.pos;
    while (n > 0) {
      this.buf[this.pos++] = 48 + (n % 10);
      n = Math.floor(n / 10);
    }
    this.buf.subarray(start, this.pos).reverse();
  }
  padded(n: number, width: number): void {
    for (let i = width - 1; i >= 0; i--) {
      this.buf[this.pos + i] = 48 + (n % 10);
      n = Math.floor(n / 10);
    }
    this.pos += width;
  }
  /** n / 100 with up to two decimals and no trailing zeros (6252.03, 5.1, 0). */
  hundredths(n: number): void {
    this.int(Math.floor(n / 100));
    const f = n % 100;
    if (f === 0) return;
    this.byte(46);
    this.byte(48 + Math.floor(f / 10));
    if (f % 10) this.byte(48 + (f % 10));
  }
}

const utf8 = (s: string) => Buffer.from(s, "utf8");
const SURNAME_BYTES = [...SURNAMES].map(utf8);
const GIVEN_BYTES = [...GIVEN].map(utf8);
const TAG_BYTES = TAGS.map(utf8);
const ALNUM_CODES = [...ALNUM].map((c) => c.charCodeAt(0));

/** "YYYY-MM-DD" bytes for day numbers, cached. */
function dateBytes(): (day: number) => Uint8Array {
  const cache = new Map<number, Uint8Array>();
  return (day) => {
    let b = cache.get(day);
    if (b === undefined) {
      b = Buffer.from(new Date(day * DAY_MS).toISOString().slice(0, 10), "latin1");
      cache.set(day, b);
    }
    return b;
  };
}

const COMMA = 44;
const SPACE = 32;
const COLON = 58;

function writeCsv(w: ByteWriter, i: number, m: Draw, date: (d: number) => Uint8Array): void {
  w.byte(77); // M
  if (i + 1 < 1e7) w.padded(i + 1, 7);
  else w.int(i + 1);
  w.byte(COMMA);
  w.bytes(SURNAME_BYTES[m.surname]!);
  w.bytes(GIVEN_BYTES[m.given1]!);
  if (m.given2 >= 0) w.bytes(GIVEN_BYTES[m.given2]!);
  w.byte(COMMA);
  w.ascii(MOBILE_PREFIX[m.prefix]!);
  w.padded(m.mobile, 8);
  w.byte(COMMA);
  w.byte(m.female ? 70 : 77);
  w.byte(COMMA);
  w.bytes(date(m.birthday));
  w.byte(COMMA);
  w.ascii(TIERS[m.tier]!);
  w.byte(COMMA);
  w.int(m.points);
  w.byte(COMMA);
  w.bytes(date(m.regDay));
  w.byte(SPACE);
  w.padded(m.regH, 2);
  w.byte(COLON);
  w.padded(m.regM, 2);
  w.byte(COLON);
  w.padded(m.regS, 2);
  w.byte(COMMA);
  if (m.lpDay >= 0) {
    w.bytes(date(m.lpDay));
    w.byte(SPACE);
    w.padded(m.lpH, 2);
    w.byte(COLON);
    w.padded(m.lpM, 2);
    w.ascii(":00");
  }
  w.byte(COMMA);
  w.hundredths(m.spendCents);
  w.byte(COMMA);
  let first = true;
  for (let k = 0; k < TAGS.length; k++)
    if (m.tags & (1 << k)) {
      if (!first) w.byte(59); // ;
      w.bytes(TAG_BYTES[k]!);
      first = false;
    }
  w.byte(COMMA);
  w.hundredths(m.distance);
  w.byte(COMMA);
  if (m.wecomLen) {
    w.ascii("wm");
    for (let k = 0; k < m.wecomLen; k++) w.byte(ALNUM_CODES[m.wecom[k]!]!);
  }
  w.byte(COMMA);
  if (m.wecomLen) w.ascii(STAFF[m.owner]!);
  w.byte(COMMA);
  if (m.openidLen) {
    w.byte(111); // o
    for (let k = 0; k < m.openidLen; k++) w.byte(ALNUM_CODES[m.openid[k]!]!);
  }
  w.byte(COMMA);
  w.ascii(BOOL_TEXT[m.oa]!);
  w.byte(COMMA);
  w.ascii(BOOL_TEXT[m.sms]!);
  w.byte(COMMA);
  w.ascii(m.unsub ? "true" : "false");
  w.byte(COMMA);
  if (m.pe) w.int(m.pe);
  w.byte(COMMA);
  if (m.pe) w.bytes(date(m.peDay));
  w.byte(COMMA);
  if (m.tcDay >= 0) {
    w.bytes(date(m.tcDay));
    w.byte(SPACE);
    w.padded(m.tcH, 2);
    w.ascii(":00:00");
  }
  w.byte(COMMA);
  if (m.tcDay >= 0) w.ascii(m.tcDown ? "down" : "up");
  w.byte(10);
}

const BOOL_TEXT = ["false", "true", ""];
const BOOL_JSON = [false, true, null];

function jsonLine(i: number, m: Draw, fmt: (d: number) => string): string {
  const code = (b: Uint8Array, n: number) => {
    let s = "";
    for (let k = 0; k < n; k++) s += ALNUM[b[k]!];
    return s;
  };
  const p2 = (n: number) => String(n).padStart(2, "0");
  const tags: string[] = [];
  for (let k = 0; k < TAGS.length; k++) if (m.tags & (1 << k)) tags.push(TAGS[k]!);
  return (
    JSON.stringify({
      member_id: "M" + String(i + 1).padStart(7, "0"),
      name: SURNAMES[m.surname]! + GIVEN[m.given1]! + (m.given2 >= 0 ? GIVEN[m.given2]! : ""),
      mobile: MOBILE_PREFIX[m.prefix]! + String(m.mobile).padStart(8, "0"),
      gender: m.female ? "F" : "M",
      birthday: fmt(m.birthday),
      tier: TIERS[m.tier],
      points: m.points,
      registered_at: `${fmt(m.regDay)} ${p2(m.regH)}:${p2(m.regM)}:${p2(m.regS)}`,
      last_purchase_at: m.lpDay >= 0 ? `${fmt(m.lpDay)} ${p2(m.lpH)}:${p2(m.lpM)}:00` : null,
      spend_12m: m.spendCents / 100,
      tags,
      distance_km: m.distance / 100,
      wecom_external_userid: m.wecomLen ? "wm" + code(m.wecom, m.wecomLen) : null,
      wecom_owner: m.wecomLen ? STAFF[m.owner] : null,
      openid: m.openidLen ? "o" + code(m.openid, m.openidLen) : null,
      oa_subscribed: BOOL_JSON[m.oa],
      sms_opt_in: BOOL_JSON[m.sms],
      unsubscribed: m.unsub,
      points_expiring: m.pe || null,
      points_expire_at: m.pe ? fmt(m.peDay) : null,
      tier_changed_at: m.tcDay >= 0 ? `${fmt(m.tcDay)} ${p2(m.tcH)}:00:00` : null,
      tier_change: m.tcDay >= 0 ? (m.tcDown ? "down" : "up") : null,
    }) + "\n"
  );
}

/**
 * The snapshot as UTF-8 byte chunks (CSV with a header line, or JSON Lines), deterministic by seed.
 * Each chunk is a fresh buffer the consumer may keep.
 */
export function* generateMembers(opts: SampleOptions): Generator<Uint8Array> {
  const format = opts.format ?? "csv";
  const asOf = dayNumber(opts.asOf ?? "2026-06-01");
  const chunkRows = opts.chunkRows ?? 20_000;
  const r = rng(opts.seed);
  const m = newDraw();
  if (format === "csv") {
    yield Buffer.from(SAMPLE_COLUMNS.join(",") + "\n", "utf8");
    const date = dateBytes();
    // A CSV row is at most ~300 bytes.
    const w = new ByteWriter(chunkRows * 320);
    for (let start = 0; start < opts.count; start += chunkRows) {
      const end = Math.min(opts.count, start + chunkRows);
      w.pos = 0;
      for (let i = start; i < end; i++) {
        draw(m, r, asOf);
        writeCsv(w, i, m, date);
      }
      yield Buffer.from(w.buf.subarray(0, w.pos));
    }
    return;
  }
  const fmt = dateFormatter();
  for (let start = 0; start < opts.count; start += chunkRows) {
    const end = Math.min(opts.count, start + chunkRows);
    const parts: string[] = [];
    for (let i = start; i < end; i++) {
      draw(m, r, asOf);
      parts.push(jsonLine(i, m, fmt));
    }
    yield Buffer.from(parts.join(""), "utf8");
  }
}

/** Writes a sample snapshot to `file` (UTF-8, no BOM). Used by `chuda sample-members`. */
export async function writeSampleMembers(file: string, opts: SampleOptions): Promise<void> {
  const out = createWriteStream(file);
  const closed = new Promise<void>((resolve, reject) => {
    out.on("finish", resolve);
    out.on("error", reject);
  });
  try {
    for (const chunk of generateMembers(opts)) {
      if (!out.write(chunk)) await Promise.race([once(out, "drain"), closed]);
    }
  } finally {
    out.end();
  }
  await closed;
}
