/**
 * Test support for the checker's unit tests: the project of docs/configuration.md built by hand (independent of the
 * YAML loader), templates with the sections the examples need, and a one-call `check(text)`.
 */
import { parseFile } from "../language/index.js";
import { pointSpan } from "../diagnostics/span.js";
import type { ChannelConfig, ContentKind, FieldType, Project } from "../project/types.js";
import type { Template } from "../content/types.js";
import { parseTemplate } from "../content/index.js";
import type { CheckResult } from "../resolved/types.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { checkProject } from "./index.js";
import { BUILTIN_EVENT_NAMES } from "../calendar/events.js";

const Y = pointSpan("chuda.yaml");

export const BUILTIN_EVENTS = new Set(BUILTIN_EVENT_NAMES);

function channel(name: string, driver: string, address: string, extra: Partial<ChannelConfig> = {}): ChannelConfig {
  return { name, driver, address, quota: [], rates: {}, env: {}, options: {}, span: Y, ...extra };
}

export function testProject(change: (p: Project) => void = () => {}): Project {
  const fields = new Map<string, FieldType>([
    ["member_id", { kind: "string" }],
    ["name", { kind: "string" }],
    ["mobile", { kind: "phone" }],
    ["gender", { kind: "enum", values: ["F", "M"] }],
    ["birthday", { kind: "date" }],
    ["tier", { kind: "enum", values: ["normal", "silver", "gold", "platinum", "diamond"] }],
    ["points", { kind: "number" }],
    ["registered_at", { kind: "datetime" }],
    ["last_purchase_at", { kind: "datetime" }],
    ["spend_12m", { kind: "number" }],
    ["tags", { kind: "list" }],
    ["distance_km", { kind: "number" }],
    ["wecom_external_userid", { kind: "string" }],
    ["wecom_owner", { kind: "string" }],
    ["openid", { kind: "string" }],
    ["oa_subscribed", { kind: "bool" }],
    ["sms_opt_in", { kind: "bool" }],
    ["unsubscribed", { kind: "bool" }],
  ]);
  const p: Project = {
    root: "/p",
    file: "/p/chuda.yaml",
    timezone: "Asia/Shanghai",
    members: { key: "member_id", fields, distance: { kind: "field", field: "distance_km" } },
    channels: new Map([
      ["wecom", channel("wecom", "wecom", "wecom_external_userid", { sender: "wecom_owner" })],
      ["template_message", channel("template_message", "wechat-template", "openid", { consent: "oa_subscribed" })],
      ["sms", channel("sms", "aliyun-sms", "mobile", { consent: "sms_opt_in" })],
      ["custom", channel("custom", "./drivers/custom.js", "openid")],
    ]),
    policy: {
      exclude: { source: "unsubscribed", span: Y },
      max: [],
      quietHours: { start: 21 * 60, end: 9 * 60, span: Y },
      defaultTime: 600,
      catchUpMs: 6 * 3600_000,
    },
    assumptions: { redeem: 0.12, visit: 0.08, purchase: 0.05 },
    calendar: new Map([
      ["store_anniversary", { kind: "yearly", month: 9, day: 28, span: Y }],
      ["lancome_brand_day", { kind: "once", date: "2026-05-20", span: Y }],
    ]),
    conversions: { member: "member_id", kind: "kind", code: "code", amount: "amount", time: "time" },
    spans: new Map(),
  };
  change(p);
  return p;
}

const SECTIONS: Partial<Record<ContentKind, string>> = {
  wecom: 'wecom:\n  text: "{{name}}您好，{{coupon}} 已到账"\n',
  sms: 'sms:\n  sign: "示例商场"\n  code: "SMS_2001"\n  body: "${name}您好。拒收请回复R"\n  params: { name: "{{name}}" }\n',
  template_message: 'template_message:\n  template_id: "TM00015"\n  data: { thing1: "{{name}}" }\n',
};

/** A template with the given sections, loaded by the content layer (wecom reads `coupon`, which `with` must give). */
/** Business events: `purchase` with properties amount (number) and store (string), `registration` with none. */
export function purchaseAndRegistration(): Map<string, Map<string, FieldType>> {
  return new Map([
    [
      "purchase",
      new Map<string, FieldType>([
        ["amount", { kind: "number" }],
        ["store", { kind: "string" }],
      ]),
    ],
    ["registration", new Map()],
  ]);
}

export function template(name: string, kinds: ContentKind[]): Template {
  const file = `templates/${name}.yaml`;
  const r = parseTemplate(kinds.map((k) => SECTIONS[k]).join(""), file, name);
  if (r.diagnostics.length) throw new Error(`test template does not load: ${r.diagnostics.map((d) => d.message).join("; ")}`);
  return r.template;
}

export function testTemplates(): Map<string, Template> {
  const all = ["wecom", "sms", "template_message"] as ContentKind[];
  return new Map([
    ["birthday", template("birthday", all)],
    ["wake_up", template("wake_up", all)],
    ["points_double", template("points_double", all)],
  ]);
}

/** Checks the given files (name → text) against the test project. */
export function checkFiles(
  files: Record<string, string>,
  project = testProject(),
  templates = testTemplates(),
  opts: { introduced?: string[] } = {},
): CheckResult {
  const parsed = Object.entries(files).map(([file, text]) => {
    const r = parseFile(text, file);
    if (r.diagnostics.length) throw new Error(`test input does not parse: ${r.diagnostics.map((d) => d.message).join("; ")}`);
    return { file, ast: r.ast };
  });
  return checkProject(parsed, project, { templates, knownEvents: BUILTIN_EVENTS, ...opts });
}

export function check(text: string, project?: Project): CheckResult {
  return checkFiles({ "campaigns/a.chuda": text }, project);
}

/** A campaign with every required clause and a goal around the given lines (which override defaults). */
export function campaign(over: Partial<Record<"audience" | "trigger" | "content" | "channel" | "goal", string>> & { extra?: string } = {}, name = "c"): string {
  const c = {
    audience: "tier >= gold",
    trigger: "every day at 10:00",
    content: '"birthday" with { coupon: "C1" }',
    channel: "wecom > sms",
    goal: "visit within 7 days",
    ...over,
  };
  return `campaign ${name} {\n  audience ${c.audience}\n  trigger ${c.trigger}\n  content ${c.content}\n  channel ${c.channel}\n  goal ${c.goal}\n${over.extra ? `  ${over.extra}\n` : ""}}\n`;
}

/** "CH3010 3:12 unknown name …" for compact assertions. */
export function summary(d: Diagnostic): string {
  return `${d.code} ${d.span.start.line}:${d.span.start.column} ${d.message}`;
}
