import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { MESSAGES } from "../diagnostics/messages/index.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { loadProject, parseProject } from "./load.js";

const FIXTURE = fileURLToPath(new URL("../../test/fixtures/project/chuda.yaml", import.meta.url));
const ROOT = "/repo";
const FILE = "/repo/chuda.yaml";

/** A minimal valid project, to which each test adds or breaks one thing. */
const BASE = `members:
  key: member_id
  fields:
    member_id: string
    mobile: phone
    openid: string
    sms_opt_in: bool
    distance_km: number
    lon: number
    lat: number
    tier: { enum: [normal, gold] }
`;

function parse(text: string) {
  return parseProject(text, FILE, ROOT);
}

/** code, line, column of each diagnostic. */
function where(diags: Diagnostic[]): [string, number, number][] {
  return diags.map((d) => [d.code, d.span.start.line, d.span.start.column]);
}

const C = (k: keyof typeof MESSAGES) => MESSAGES[k].code;

describe("the example of docs/configuration.md (test/fixtures/project/chuda.yaml)", () => {
  it("loads with no diagnostics and every typed value right", async () => {
    const { project, diagnostics } = await loadProject(FIXTURE);
    expect(diagnostics).toEqual([]);
    const p = project!;
    expect(p.file).toBe(FIXTURE);
    expect(p.root).toBe(resolve(FIXTURE, ".."));
    expect(p.timezone).toBe("Asia/Shanghai");
    expect(p.mall).toEqual({ name: "示例广场", location: [116.397, 39.909] });

    expect(p.members.key).toBe("member_id");
    expect([...p.members.fields.keys()]).toEqual([
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
    ]);
    expect(p.members.fields.get("mobile")).toEqual({ kind: "phone" });
    expect(p.members.fields.get("tier")).toEqual({ kind: "enum", values: ["normal", "silver", "gold", "platinum", "diamond"] });
    expect(p.members.fields.get("gender")).toEqual({ kind: "enum", values: ["F", "M"] });
    expect(p.members.fields.get("tags")).toEqual({ kind: "list" });
    expect(p.members.fields.get("oa_subscribed")).toEqual({ kind: "bool" });
    expect(p.members.distance).toEqual({ kind: "field", field: "distance_km" });

    expect([...p.channels.keys()]).toEqual(["wecom", "template_message", "sms"]);
    const wecom = p.channels.get("wecom")!;
    expect(wecom).toMatchObject({ name: "wecom", driver: "wecom", address: "wecom_external_userid", sender: "wecom_owner" });
    expect(wecom.consent).toBeUndefined();
    expect(wecom.quota).toHaveLength(1);
    expect(wecom.quota[0]).toMatchObject({ count: 1, period: { kind: "calendar", unit: "day" }, text: "1 per member per day" });
    expect(wecom.quota[0]!.span.start).toMatchObject({ line: 32, column: 12 });
    expect(wecom.rates).toEqual({ delivered: 0.95, opened: 0.4 });
    expect(wecom.env).toEqual({ corp_id: "WECOM_CORP_ID", secret: "WECOM_SECRET" });
    expect(wecom.options).toEqual({});
    const tm = p.channels.get("template_message")!;
    expect(tm).toMatchObject({ driver: "wechat-template", address: "openid", consent: "oa_subscribed", quota: [] });
    expect(tm.price).toBeUndefined();
    const sms = p.channels.get("sms")!;
    expect(sms).toMatchObject({ driver: "aliyun-sms", address: "mobile", consent: "sms_opt_in" });
    expect(sms.price).toEqual({ amount: 0.045, per: "segment" });
    expect(sms.rates).toEqual({ delivered: 0.98, opened: 0.1 });
    expect(sms.env).toEqual({ access_key_id: "ALIYUN_AK", access_key_secret: "ALIYUN_SK" });
    expect(sms.span.start).toMatchObject({ line: 41, column: 3 });

    expect(p.policy.exclude?.source).toBe("unsubscribed");
    expect(p.policy.exclude?.span.start).toMatchObject({ line: 50, column: 12 });
    expect(p.policy.max).toHaveLength(1);
    expect(p.policy.max[0]).toMatchObject({ count: 2, period: { kind: "rolling", ms: 7 * 86_400_000, text: "7 days" } });
    expect(p.policy.quietHours).toMatchObject({ start: 21 * 60, end: 9 * 60 });
    expect(p.policy.defaultTime).toBe(600);
    expect(p.policy.catchUpMs).toBe(6 * 3_600_000);

    expect(p.assumptions).toEqual({ redeem: 0.12, visit: 0.08, purchase: 0.05, event: 0.05 });
    expect(p.calendar.get("store_anniversary")).toMatchObject({ kind: "yearly", month: 9, day: 28 });
    expect(p.calendar.get("lancome_brand_day")).toMatchObject({ kind: "once", date: "2026-05-20" });
    expect(p.calendar.get("lancome_brand_day")!.span.start).toMatchObject({ line: 62, column: 22 });
    expect(p.conversions).toEqual({ member: "member_id", kind: "kind", code: "code", amount: "amount", time: "time" });

    // spans of key paths: the value of a scalar, the key of a collection
    const at = (path: string) => {
      const s = p.spans.get(path);
      return s && [s.file, s.start.line, s.start.column];
    };
    expect(at("channels.sms.driver")).toEqual(["chuda.yaml", 42, 13]);
    expect(at("channels.sms.driver:key")).toEqual(["chuda.yaml", 42, 5]);
    expect(at("channels.sms")).toEqual(["chuda.yaml", 41, 3]);
    expect(at("policy.quiet_hours")).toEqual(["chuda.yaml", 52, 16]);
    expect(at("policy.exclude")).toEqual(["chuda.yaml", 50, 12]);
    expect(at("members.fields.tier")).toEqual(["chuda.yaml", 12, 5]);
    expect(at("mall.location.1")).toEqual(["chuda.yaml", 2, 2 + 'mall: { name: "示例广场", location: [116.397, '.length - 1]);
  });

  it("fills defaults for every optional section", () => {
    const { project, diagnostics } = parse(BASE + "channels:\n  sms: { driver: file, address: mobile, rates: { delivered: 1 } }\n");
    expect(diagnostics).toEqual([]);
    expect(project!.timezone).toBe("Asia/Shanghai");
    expect(project!.mall).toBeUndefined();
    expect(project!.policy).toEqual({ max: [], defaultTime: 600, catchUpMs: 6 * 3_600_000 });
    expect(project!.assumptions).toEqual({ redeem: 0.1, visit: 0.05, purchase: 0.03, event: 0.05 });
    expect(project!.calendar.size).toBe(0);
    expect(project!.conversions).toEqual({ member: "member_id", kind: "kind", code: "code", amount: "amount", time: "time" });
  });

  it("reads the project's own keys: base_url, rate_limit, concurrency, options, env, catch_up, conversions", () => {
    const { project, diagnostics } = parse(
      BASE +
        `channels:
  hook:
    driver: webhook
    address: openid
    base_url: http://127.0.0.1:8080/api
    rate_limit: 50
    concurrency: 4
    options: { path: /send, headers: { X-Team: crm } }
    quota: [1 per member per day, 4 per member per month, 2 per member per 12 hours, 3 per member per 2 weeks, 5 per member per week]
    rates: { delivered: 0.99 }
    price: 0.1 CNY
policy:
  catch_up: 90 minutes
conversions: { member: vip_no, time: redeemed_at }
`,
    );
    expect(diagnostics).toEqual([]);
    const hook = project!.channels.get("hook")!;
    expect(hook).toMatchObject({ baseUrl: "http://127.0.0.1:8080/api", rateLimit: 50, concurrency: 4, price: { amount: 0.1, per: "message" } });
    expect(hook.options).toEqual({ path: "/send", headers: { "X-Team": "crm" } });
    expect(hook.quota.map((q) => q.period)).toEqual([
      { kind: "calendar", unit: "day" },
      { kind: "calendar", unit: "month" },
      { kind: "rolling", ms: 12 * 3_600_000, text: "12 hours" },
      { kind: "rolling", ms: 14 * 86_400_000, text: "2 weeks" },
      { kind: "calendar", unit: "week" },
    ]);
    expect(hook.quota.map((q) => q.span.start.column)).toEqual([13, 35, 59, 86, 112]);
    expect(project!.policy.catchUpMs).toBe(90 * 60_000);
    expect(project!.conversions).toEqual({ member: "vip_no", kind: "kind", code: "code", amount: "amount", time: "redeemed_at" });
  });

  it("accepts third-party drivers by path or npm package, and a point distance with a mall location", () => {
    const { project, diagnostics } = parse(
      BASE.replace("members:\n", "mall: { location: [121.47, 31.23] }\nmembers:\n  distance: { point: [lon, lat] }\n") +
        `channels:
  a: { driver: ./drivers/mine.js, address: openid, rates: {} }
  b: { driver: ../drivers/x.js, address: openid, rates: {} }
  c: { driver: /opt/x.js, address: openid, rates: {} }
  d: { driver: "npm:@acme/chuda-driver", address: openid, rates: {} }
`,
    );
    expect(diagnostics).toEqual([]);
    expect([...project!.channels.values()].map((c) => c.driver)).toEqual(["./drivers/mine.js", "../drivers/x.js", "/opt/x.js", "npm:@acme/chuda-driver"]);
    expect(project!.members.distance).toEqual({ kind: "point", lon: "lon", lat: "lat" });
  });

  it("handles a BOM, CRLF line ends, and YAML 1.1 dates and sexagesimal times", () => {
    const text = "\uFEFF%YAML 1.1\r\n---\r\n" + (BASE + "policy: { default_time: 09:30 }\ncalendar: { brand_day: 2026-05-20 }\n").replace(/\n/g, "\r\n");
    const { project, diagnostics } = parse(text);
    expect(diagnostics.filter((d) => d.code !== C("projectNoChannels"))).toEqual([]);
    expect(project!.policy.defaultTime).toBe(570);
    expect(project!.calendar.get("brand_day")).toMatchObject({ kind: "once", date: "2026-05-20", span: { start: { line: 15, column: 24 } } });
  });
});

describe("errors, each with its code, line and column", () => {
  const cases: { name: string; yaml: string; expect: [keyof typeof MESSAGES, number, number][]; project?: boolean }[] = [
    {
      name: "YAML syntax error",
      yaml: "members:\n  key: member_id\n  fields: [a, b\nchannels: {}\n",
      expect: [["projectYamlSyntax", 4, 1]],
      project: false,
    },
    { name: "duplicate key", yaml: BASE + "timezone: UTC\ntimezone: UTC\n", expect: [["projectDuplicateKey", 13, 1]], project: false },
    { name: "top level not a mapping", yaml: "- a\n- b\n", expect: [["projectNotMapping", 1, 1]], project: false },
    { name: "empty file", yaml: "# nothing\n", expect: [["projectMissingKey", 1, 1]], project: false },
    {
      name: "no members",
      yaml: "timezone: UTC\n",
      expect: [
        ["projectMissingKey", 1, 1],
        ["projectNoChannels", 1, 1],
      ],
      project: false,
    },
    {
      name: "members without fields",
      yaml: "members:\n  key: id\n",
      expect: [
        ["projectMissingKey", 1, 1],
        ["projectNoChannels", 1, 1],
      ],
      project: false,
    },
    {
      name: "unknown top-level key",
      yaml: BASE + "channel: {}\n",
      expect: [
        ["projectUnknownKey", 12, 1],
        ["projectNoChannels", 1, 1],
      ],
    },
    {
      name: "unknown channel key",
      yaml: BASE + "channels:\n  sms:\n    driver: file\n    address: mobile\n    rates: {}\n    adress: x\n",
      expect: [["projectUnknownKey", 17, 5]],
    },
    {
      name: "wrong type",
      yaml: BASE + "timezone: [UTC]\nchannels: {}\n",
      expect: [
        ["projectWrongType", 12, 11],
        ["projectNoChannels", 13, 1],
      ],
    },
    {
      name: "missing driver and address",
      yaml: BASE + "channels:\n  sms:\n    rates: {}\n",
      expect: [
        ["projectMissingKey", 13, 3],
        ["projectMissingKey", 13, 3],
      ],
    },
    {
      name: "unknown driver",
      yaml: BASE + "channels:\n  sms:\n    driver: aliyun_sms\n    address: mobile\n    rates: {}\n",
      expect: [["projectUnknownDriver", 14, 13]],
    },
    {
      name: "bad frequency rule (quota)",
      yaml: BASE + "channels:\n  sms:\n    driver: file\n    address: mobile\n    rates: {}\n    quota: 2 per 7 days\n",
      expect: [["projectBadFrequencyRule", 17, 12]],
    },
    {
      name: "bad frequency rules (policy.max): months are not a rolling unit, zero count, plural calendar unit, per hour",
      yaml:
        BASE +
        "channels: {}\npolicy:\n  max:\n    - 2 per member per 2 months\n    - 0 per member per day\n    - 1 per member per days\n    - 1 per member per hour\n",
      expect: [
        ["projectNoChannels", 12, 1],
        ["projectBadFrequencyRule", 15, 7],
        ["projectBadFrequencyRule", 16, 7],
        ["projectBadFrequencyRule", 17, 7],
        ["projectBadFrequencyRule", 18, 7],
      ],
    },
    {
      name: "bad duration",
      yaml: BASE + "channels: {}\npolicy: { catch_up: 6 months }\n",
      expect: [
        ["projectNoChannels", 12, 1],
        ["projectBadDuration", 13, 21],
      ],
    },
    {
      name: "bad time",
      yaml: BASE + 'channels: {}\npolicy:\n  default_time: "25:00"\n',
      expect: [
        ["projectNoChannels", 12, 1],
        ["projectBadTime", 14, 17],
      ],
    },
    {
      name: "bad quiet hours",
      yaml: BASE + 'channels: {}\npolicy:\n  quiet_hours: "21:00 to 09:00"\n',
      expect: [
        ["projectNoChannels", 12, 1],
        ["projectBadTimeRange", 14, 16],
      ],
    },
    {
      name: "empty quiet hours",
      yaml: BASE + "channels: {}\npolicy:\n  quiet_hours: 09:00-09:00\n",
      expect: [
        ["projectNoChannels", 12, 1],
        ["projectBadTimeRange", 14, 16],
      ],
    },
    {
      name: "invalid timezone",
      yaml: "timezone: Asia/Shangai\n" + BASE + "channels: {}\n",
      expect: [
        ["projectBadTimezone", 1, 11],
        ["projectNoChannels", 13, 1],
      ],
    },
    {
      name: "bad price",
      yaml: BASE + "channels:\n  sms:\n    driver: file\n    address: mobile\n    rates: {}\n    price: 0.045 per segment\n",
      expect: [["projectBadPrice", 17, 12]],
    },
    {
      name: "rate out of 0..1",
      yaml: BASE + "channels:\n  sms:\n    driver: file\n    address: mobile\n    rates: { delivered: 95, opened: -0.1 }\n",
      expect: [
        ["projectRateOutOfRange", 16, 25],
        ["projectRateOutOfRange", 16, 37],
      ],
    },
    {
      name: "assumption out of 0..1",
      yaml: BASE + "channels: {}\nassumptions:\n  redeem: 12\n",
      expect: [
        ["projectNoChannels", 12, 1],
        ["projectAssumptionOutOfRange", 14, 11],
      ],
    },
    {
      name: "unknown assumption kind",
      yaml: BASE + "channels: {}\nassumptions:\n  redem: 0.1\n",
      expect: [
        ["projectNoChannels", 12, 1],
        ["projectUnknownKey", 14, 3],
      ],
    },
    {
      name: "bad calendar values",
      yaml: BASE + 'channels: {}\ncalendar:\n  a: "02-30"\n  b: 2026-02-29\n  c: 20260520\n  d: "9/28"\n  2x: "01-01"\n',
      expect: [
        ["projectNoChannels", 12, 1],
        ["projectBadCalendarDate", 14, 6],
        ["projectBadCalendarDate", 15, 6],
        ["projectWrongType", 16, 6],
        ["projectBadCalendarDate", 17, 6],
        ["projectBadName", 18, 3],
      ],
    },
    {
      name: "members.key not a field",
      yaml: BASE.replace("key: member_id", "key: memberid") + "channels: {}\n",
      expect: [
        ["projectUnknownField", 2, 8],
        ["projectNoChannels", 12, 1],
      ],
    },
    {
      name: "channel address, sender and consent must be fields; consent must be bool",
      yaml: BASE + "channels:\n  sms:\n    driver: file\n    address: phone\n    sender: owner\n    consent: mobile\n    rates: {}\n",
      expect: [
        ["projectUnknownField", 15, 14],
        ["projectUnknownField", 16, 13],
        ["projectConsentNotBool", 17, 14],
      ],
    },
    {
      name: "distance must be a number field",
      yaml: BASE.replace("members:\n", "members:\n  distance: tier\n") + "channels: {}\n",
      expect: [
        ["projectDistanceNotNumber", 2, 13],
        ["projectNoChannels", 13, 1],
      ],
    },
    {
      name: "distance point needs number fields and a mall location",
      yaml: BASE.replace("members:\n", "members:\n  distance: { point: [lon, tier] }\n") + "channels: {}\n",
      expect: [
        ["projectDistanceNotNumber", 2, 28],
        ["projectDistanceNeedsMall", 2, 15],
        ["projectNoChannels", 13, 1],
      ],
    },
    {
      name: "mall location swapped",
      yaml: "mall: { location: [39.9, 116.4] }\n" + BASE + "channels: {}\n",
      expect: [
        ["projectBadLocation", 1, 26],
        ["projectNoChannels", 13, 1],
      ],
    },
    {
      name: "mall location not a pair",
      yaml: "mall: { location: [116.4] }\n" + BASE + "channels: {}\n",
      expect: [
        ["projectBadLocation", 1, 19],
        ["projectNoChannels", 13, 1],
      ],
    },
    {
      name: "mall location not numbers",
      yaml: "mall: { location: [116.4, north] }\n" + BASE + "channels: {}\n",
      expect: [
        ["projectBadLocation", 1, 27],
        ["projectNoChannels", 13, 1],
      ],
    },
    {
      name: "field types",
      yaml: BASE + "    a: boolean\n    b: { enum: [] }\n    c: { enum: [x, x] }\n    d: { values: [x] }\n    e: [string]\n    f-g: string\nchannels: {}\n",
      expect: [
        ["projectBadFieldType", 12, 8],
        ["projectBadEnum", 13, 16],
        ["projectBadEnum", 14, 20],
        ["projectUnknownKey", 15, 10],
        ["projectMissingKey", 15, 5],
        ["projectWrongType", 16, 8],
        ["projectBadName", 17, 5],
        ["projectNoChannels", 18, 1],
      ],
    },
    {
      name: "rate_limit, concurrency, base_url, options",
      yaml:
        BASE +
        "channels:\n  h:\n    driver: webhook\n    address: openid\n    rates: {}\n    rate_limit: 0\n    concurrency: 2.5\n    base_url: localhost:8080\n    options: [a]\n",
      expect: [
        ["projectBadNumber", 17, 17],
        ["projectBadNumber", 18, 18],
        ["projectBadUrl", 19, 15],
        ["projectWrongType", 20, 14],
      ],
    },
    {
      name: "unbounded settings: concurrency, rate_limit, quota, catch_up",
      yaml:
        BASE +
        "channels:\n  h:\n    driver: webhook\n    address: openid\n    rates: {}\n    rate_limit: 1000000\n    concurrency: 100000000\n    quota: [1001 per member per day, 1 per member per 4000 days]\n  g:\n    driver: webhook\n    address: openid\n    rates: {}\n    rate_limit: 0.001\n    concurrency: 65\npolicy: { catch_up: 400 days }\n",
      expect: [
        ["projectBadNumber", 17, 17],
        ["projectBadNumber", 18, 18],
        ["projectBadNumber", 19, 13],
        ["projectBadNumber", 19, 38],
        ["projectBadNumber", 24, 17],
        ["projectBadNumber", 25, 18],
        ["projectBadNumber", 26, 21],
      ],
    },
    {
      name: "a channel name that is not an identifier",
      yaml: BASE + "channels:\n  sms-1: { driver: file, address: mobile, rates: {} }\n",
      expect: [["projectBadName", 13, 3]],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const { project, diagnostics } = parse(c.yaml);
      expect(where(diagnostics)).toEqual(c.expect.map(([k, l, col]) => [C(k), l, col]));
      for (const d of diagnostics) expect(d.span.file).toBe("chuda.yaml");
      if (c.project === false) expect(project).toBeUndefined();
      else expect(project).toBeDefined();
    });
  }

  it("suggests the key, driver, field or time zone that was meant", () => {
    const { diagnostics } = parse(
      "timezone: Asia/Shangai\n" +
        BASE.replace("key: member_id", "key: member_ld") +
        "channels:\n  sms:\n    drivr: file\n    driver: aliyun_sms\n    address: mobil\n    rates: {}\n",
    );
    const help = Object.fromEntries(diagnostics.map((d) => [d.code, d.help]));
    expect(help[C("projectBadTimezone")]).toBe("did you mean `Asia/Shanghai`?");
    expect(help[C("projectUnknownKey")]).toBe("did you mean `driver`?");
    expect(help[C("projectUnknownDriver")]).toBe("did you mean `aliyun-sms`?");
    expect(diagnostics.filter((d) => d.code === C("projectUnknownField")).map((d) => d.help)).toEqual(["did you mean `member_id`?", "did you mean `mobile`?"]);
  });

  it("reads policy.expire_after as a positive duration", () => {
    const ok = parse(BASE + "channels: { hook: { driver: webhook, address: member_id } }\npolicy: { expire_after: 6 hours }\n");
    expect(ok.project?.policy.expireAfterMs).toBe(6 * 3_600_000);
    const zero = parse(BASE + "channels: {}\npolicy: { expire_after: 0 hours }\n");
    expect(zero.diagnostics.some((d) => d.code === C("projectExpireAfterZero"))).toBe(true);
    const bad = parse(BASE + "channels: {}\npolicy: { expire_after: soon }\n");
    expect(bad.diagnostics.some((d) => d.code === C("projectBadDuration"))).toBe(true);
  });

  it("lists the allowed keys when nothing is close", () => {
    const { diagnostics } = parse(BASE + "channels: {}\npolicy: { zzz: 1 }\n");
    const d = diagnostics.find((x) => x.code === C("projectUnknownKey"))!;
    expect(d.message).toBe("unknown key `zzz` in `policy`");
    expect(d.help).toBe("allowed keys: `exclude`, `max`, `quiet_hours`, `default_time`, `catch_up`, `expire_after`");
  });

  it("reports all three errors of a file with three mistakes, and still returns the project with defaults", () => {
    const { project, diagnostics } = parse(
      "timezone: Mars/Olympus\n" + BASE + 'channels:\n  sms: { driver: file, address: mobile, rates: { delivered: 1.5 } }\npolicy:\n  default_time: "7pm"\n',
    );
    expect(where(diagnostics)).toEqual([
      [C("projectBadTimezone"), 1, 11],
      [C("projectRateOutOfRange"), 14, 61],
      [C("projectBadTime"), 16, 17],
    ]);
    expect(project!.timezone).toBe("Asia/Shanghai");
    expect(project!.channels.get("sms")!.rates).toEqual({});
    expect(project!.policy.defaultTime).toBe(600);
  });
});

describe("warnings: suspicious but usable", () => {
  it("warns when an env value looks like a secret, without printing it", () => {
    const secret = "sk-9f8a7b6c5d4e3f2a1b0c";
    const { project, diagnostics } = parse(
      BASE +
        `channels:\n  sms:\n    driver: aliyun-sms\n    address: mobile\n    rates: {}\n    env: { access_key_id: ALIYUN_AK, access_key_secret: "${secret}", token: "$SMS_TOKEN" }\n`,
    );
    expect(where(diagnostics)).toEqual([
      [C("projectEnvLooksLikeSecret"), 17, 57],
      [C("projectEnvLooksLikeSecret"), 17, 91],
    ]);
    expect(diagnostics.every((d) => d.severity === "warning")).toBe(true);
    expect(JSON.stringify(diagnostics)).not.toContain(secret);
    expect(diagnostics[1]!.help).toBe("write the name alone: `SMS_TOKEN`");
    expect(project!.channels.get("sms")!.env.token).toBe("SMS_TOKEN");
  });

  it("warns about a channel without rates and a wecom channel without sender", () => {
    const { project, diagnostics } = parse(BASE + "channels:\n  w:\n    driver: wecom\n    address: openid\n");
    expect(where(diagnostics)).toEqual([
      [C("projectChannelWithoutRates"), 13, 3],
      [C("projectWecomWithoutSender"), 13, 3],
    ]);
    expect(diagnostics.every((d) => d.severity === "warning")).toBe(true);
    expect(project!.channels.get("w")!.rates).toEqual({});
  });
});

describe("policy.exclude", () => {
  it("keeps the expression text and points inside the quotes", () => {
    const { project } = parse(BASE + 'channels: {}\npolicy:\n  exclude: "unsubscribed or tier == normal"\n');
    const ex = project!.policy.exclude!;
    expect(ex.source).toBe("unsubscribed or tier == normal");
    expect(ex.span.start).toMatchObject({ line: 14, column: 13 });
    expect(ex.span.end.offset - ex.span.start.offset).toBe(ex.source.length);
    expect(project!.spans.get("policy.exclude")).toEqual(ex.span);
  });
});

describe("loadProject", () => {
  it("reports a missing file as a diagnostic", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chuda-project-"));
    const { project, diagnostics } = await loadProject(join(dir, "chuda.yaml"));
    expect(project).toBeUndefined();
    expect(where(diagnostics)).toEqual([[C("projectFileUnreadable"), 1, 1]]);
    expect(diagnostics[0]!.message).toBe("cannot read chuda.yaml: no such file");
  });

  it("reads a file from disk with spans relative to its directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chuda-project-"));
    writeFileSync(join(dir, "chuda.yaml"), readFileSync(FIXTURE, "utf8").replace("timezone: Asia/Shanghai", "timezone: Europe/Berlin"));
    const { project, diagnostics } = await loadProject(join(dir, "chuda.yaml"));
    expect(diagnostics).toEqual([]);
    expect(project!.timezone).toBe("Europe/Berlin");
    expect(project!.root).toBe(dir);
    expect(project!.spans.get("timezone")?.file).toBe("chuda.yaml");
  });
});
