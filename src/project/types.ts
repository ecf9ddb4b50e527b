/** The typed form of chuda.yaml (docs/configuration.md). Built by src/project/load.ts. */
import type { Span } from "../diagnostics/span.js";
import type { ServeConfig } from "./serve.js";
import type { EventSchema } from "./events.js";

export type ScalarType = "string" | "number" | "bool" | "date" | "datetime" | "list" | "phone";
export type FieldType = { kind: ScalarType } | { kind: "enum"; values: string[] };

export interface MemberSchema {
  key: string;
  /** In declaration order. */
  fields: Map<string, FieldType>;
  /** How `within N km` is measured. */
  distance?: { kind: "field"; field: string } | { kind: "point"; lon: string; lat: string };
  /** `members.source`: members read from the CRM's database instead of a file (src/members/database.ts). */
  source?: MemberSource;
}

/** Where the CRM's members live: the URL is read from an environment variable, never from chuda.yaml. */
export interface MemberSource {
  /** The environment variable holding the `postgres://` or `mysql://` URL. */
  urlEnv?: string;
  /** A SELECT whose rows are the members, or a table (`members`, `crm.members`); default: the table `members`. */
  query?: string;
  table?: string;
}

/** A period of a frequency rule: a calendar period in the project timezone, or a rolling window. */
export type Period = { kind: "calendar"; unit: "day" | "week" | "month" } | { kind: "rolling"; ms: number; text: string };

/** `2 per member per 7 days`, `1 per member per day`. */
export interface FrequencyRule {
  count: number;
  period: Period;
  text: string;
  span: Span;
}

export interface ChannelConfig {
  name: string;
  /** A built-in driver name, a path (`./drivers/x.js`) or `npm:<package>`. */
  driver: string;
  /** Member field holding the address (openid, mobile, external_userid …). */
  address: string;
  /** Member bool field that must be true. */
  consent?: string;
  /** Member field naming the sending staff member (wecom). */
  sender?: string;
  quota: FrequencyRule[];
  /** Price in CNY per message, or per SMS segment. */
  price?: { amount: number; per: "message" | "segment" };
  rates: { delivered?: number; opened?: number };
  /** Secret name → environment variable name. Values are read at send time and never printed. */
  env: Record<string, string>;
  baseUrl?: string;
  /** Provider calls per second the runner keeps under. */
  rateLimit?: number;
  concurrency?: number;
  /** Driver-specific settings (`options:` map), passed through untouched. */
  options: Record<string, unknown>;
  /** The channel of the same content kind that takes this channel's due sends when it is stopped for a run. */
  failover?: string;
  span: Span;
}

export type CalendarEventDef = { kind: "yearly"; month: number; day: number; span: Span } | { kind: "once"; date: string; span: Span };

export interface Policy {
  /** An expression in the campaign language; parsed by the checker. */
  exclude?: { source: string; span: Span };
  max: FrequencyRule[];
  /** Minutes after midnight; `start > end` wraps midnight (21:00-09:00). */
  quietHours?: { start: number; end: number; span: Span };
  /** Minutes after midnight, default 10:00. */
  defaultTime: number;
  /** How far back a dispatch run still sends a missed occurrence, ms (default 6 hours). */
  catchUpMs: number;
  /** How long after its planned time a send may still go out, ms; later it expires. Unset: 24 hours
   * (DEFAULT_EXPIRE_AFTER_MS). */
  expireAfterMs?: number;
}

export interface ConversionsMapping {
  member: string;
  kind: string;
  code: string;
  amount: string;
  time: string;
}

export interface Project {
  /** Absolute directory holding chuda.yaml. */
  root: string;
  /** Absolute path of chuda.yaml. */
  file: string;
  timezone: string;
  mall?: { name?: string; location?: [number, number] };
  members: MemberSchema;
  channels: Map<string, ChannelConfig>;
  policy: Policy;
  /** Conversion assumptions per goal kind (`redeem`, `visit`, `purchase`, `event`). */
  assumptions: Record<string, number>;
  calendar: Map<string, CalendarEventDef>;
  conversions: ConversionsMapping;
  /** `ledger: { url_env }`: the ledger is in PostgreSQL at the URL in that environment variable (else .chuda/state.db). */
  ledger?: { urlEnv: string };
  /** `events:` — business events `chuda serve` accepts, with their properties' types. */
  events?: EventSchema;
  /** What `chuda serve` accepts (src/project/serve.ts): callbacks, opt-outs, event triggers and tracked links. */
  serve?: ServeConfig;
  /** Which delivery rates simulate uses: each channel's configured `rates`, or those observed in receipts. */
  rates?: "configured" | "observed";
  /** Span of each key path in chuda.yaml (`channels.sms.driver`), for diagnostics that point into it. */
  spans: Map<string, Span>;
}

export const BUILTIN_DRIVERS = ["wecom", "aliyun-sms", "tencent-sms", "wechat-template", "wechat-subscribe", "webhook", "file"] as const;
export type BuiltinDriver = (typeof BUILTIN_DRIVERS)[number];

/** The template section a driver reads. */
export type ContentKind = "wecom" | "sms" | "template_message" | "subscribe_message" | "webhook" | "file";

export const DRIVER_CONTENT_KIND: Record<BuiltinDriver, ContentKind> = {
  wecom: "wecom",
  "aliyun-sms": "sms",
  "tencent-sms": "sms",
  "wechat-template": "template_message",
  "wechat-subscribe": "subscribe_message",
  webhook: "webhook",
  file: "file",
};
