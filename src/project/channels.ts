/**
 * The `channels:` section. Keys of a channel (docs/configuration.md):
 *   driver (required)  a built-in driver name, a path (`./x.js`, `../x.js`, `/abs/x.js`) or `npm:<package>`
 *   address (required) member field holding the address
 *   consent            member bool field that must be true
 *   sender             member field naming the sending staff member (wecom)
 *   quota              a frequency rule or a list of them
 *   price              `0.045 CNY per segment`, `0.1 CNY per message`, `0.1 CNY`
 *   rates              { delivered, opened }, fractions 0..1
 *   env                secret name → ENVIRONMENT_VARIABLE_NAME (never the secret itself)
 *   base_url           the provider's base URL (point it at a local fake in tests)
 *   rate_limit         provider calls per second the runner keeps under (0.01 … 10,000)
 *   concurrency        concurrent provider calls (integer 1 … 64)
 *   options            free mapping passed to the driver untouched
 *   failover           another channel of the same content kind that takes the due sends when this one is stopped
 *                      for a run (credentials refused, balance exhausted, an outage past the retry budget)
 */
import { isMap, isScalar } from "yaml";
import { didYouMean } from "../diagnostics/suggest.js";
import { MESSAGES } from "../diagnostics/messages/index.js";
import { parseFrequencyRule } from "./duration.js";
import { describeFieldType, fieldRef } from "./member-schema.js";
import { parsePrice } from "./price.js";
import { BUILTIN_DRIVERS, DRIVER_CONTENT_KIND, type BuiltinDriver, type ChannelConfig, type FieldType, type FrequencyRule } from "./types.js";
import { IDENTIFIER, type Entry, type YamlReader } from "./yaml-reader.js";

export const CHANNEL_KEYS = [
  "driver",
  "address",
  "consent",
  "sender",
  "quota",
  "price",
  "rates",
  "env",
  "base_url",
  "rate_limit",
  "concurrency",
  "options",
  "failover",
] as const;

const ENV_VAR_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** Concurrent provider calls per channel: beyond this a run only contends for sockets (100,000,000 spun a core). */
export const MAX_CONCURRENCY = 64;
/** Provider calls per second: at least one every 100 s (a run must end), at most 10,000. */
export const MIN_RATE_LIMIT = 0.01;
export const MAX_RATE_LIMIT = 10_000;
/** Sends per member in one frequency rule, and the longest rolling window (10 years). */
export const MAX_RULE_COUNT = 1000;
export const MAX_RULE_WINDOW_DAYS = 3660;
const NPM_NAME = /^npm:(@[a-z0-9~][a-z0-9._~-]*\/)?[a-z0-9~][a-z0-9._~-]*$/;

/** Whether `driver` names a built-in driver, a path, or an npm package. */
export function isValidDriverName(driver: string): boolean {
  return (BUILTIN_DRIVERS as readonly string[]).includes(driver) || /^(\.\.?\/|\/)/.test(driver) || NPM_NAME.test(driver);
}

/** A frequency rule, or a list of them (`quota`, `policy.max`). */
export function readRules(r: YamlReader, e: Entry): FrequencyRule[] {
  const one = (x: Entry): FrequencyRule | undefined => {
    const text = r.str(x, "a frequency rule such as `2 per member per 7 days`");
    if (text === undefined) return undefined;
    const rule = parseFrequencyRule(text, x.span);
    if (!rule) r.report(MESSAGES.projectBadFrequencyRule, x.span, [text]);
    else if (rule.count > MAX_RULE_COUNT) r.report(MESSAGES.projectBadNumber, x.span, [x.path, `at most ${MAX_RULE_COUNT} sends per member`, rule.count]);
    else if (rule.period.kind === "rolling" && rule.period.ms > MAX_RULE_WINDOW_DAYS * 86_400_000) {
      r.report(MESSAGES.projectBadNumber, x.span, [x.path, `a window of at most ${MAX_RULE_WINDOW_DAYS} days`, rule.period.text]);
    } else return rule;
    return undefined;
  };
  if (r.isNull(e.node)) return [];
  if (isScalar(e.node)) {
    const rule = one(e);
    return rule ? [rule] : [];
  }
  const items = r.list(e, "a frequency rule or a list of them");
  return (items ?? []).map(one).filter((x): x is FrequencyRule => x !== undefined);
}

function readRates(r: YamlReader, e: Entry): ChannelConfig["rates"] {
  const rates: ChannelConfig["rates"] = {};
  for (const x of r.mapping(e, ["delivered", "opened"]) ?? []) {
    const v = r.num(x, "a fraction between 0 and 1");
    if (v === undefined) continue;
    if (v < 0 || v > 1) r.report(MESSAGES.projectRateOutOfRange, x.span, [x.path, v]);
    else rates[x.key as "delivered" | "opened"] = v;
  }
  return rates;
}

function readEnv(r: YamlReader, e: Entry): Record<string, string> {
  const env: Record<string, string> = {};
  for (const x of r.mapping(e) ?? []) {
    const v = r.str(x, "the name of an environment variable");
    if (v === undefined) continue;
    if (ENV_VAR_NAME.test(v)) {
      env[x.key] = v;
      continue;
    }
    // `$WECOM_SECRET` / `${WECOM_SECRET}`: clearly meant as a name; keep the name, and say how to write it.
    const ref = /^\$\{?([A-Z_][A-Z0-9_]*)\}?$/.exec(v);
    if (ref) {
      env[x.key] = ref[1]!;
      r.report(MESSAGES.projectEnvLooksLikeSecret, x.span, [x.path], { help: `write the name alone: \`${ref[1]}\`` });
    } else {
      // Not a conventional name: it may be the secret itself. Kept as a name (so nothing breaks), never echoed.
      env[x.key] = v;
      r.report(MESSAGES.projectEnvLooksLikeSecret, x.span, [x.path]);
    }
  }
  return env;
}

function readChannel(r: YamlReader, e: Entry, fields: Map<string, FieldType> | undefined): ChannelConfig | undefined {
  if (!IDENTIFIER.test(e.key)) r.report(MESSAGES.projectBadName, e.keySpan, [e.key, "channel"]);
  const entries = r.mapping(e, CHANNEL_KEYS);
  if (!entries) return undefined;
  const ch: ChannelConfig = { name: e.key, driver: "", address: "", quota: [], rates: {}, env: {}, options: {}, span: e.keySpan };
  const seen = new Set(entries.map((x) => x.key));
  for (const x of entries) {
    switch (x.key as (typeof CHANNEL_KEYS)[number]) {
      case "driver": {
        const d = r.str(x, "a driver name");
        if (d === undefined) break;
        if (!isValidDriverName(d)) {
          const help = didYouMean(d, BUILTIN_DRIVERS);
          r.report(MESSAGES.projectUnknownDriver, x.span, [d, BUILTIN_DRIVERS.join(", ")], help ? { help } : {});
        }
        ch.driver = d;
        break;
      }
      case "address":
        ch.address = fieldRef(r, x, fields) ?? "";
        break;
      case "sender": {
        const s = fieldRef(r, x, fields);
        if (s !== undefined) ch.sender = s;
        break;
      }
      case "consent": {
        const c = fieldRef(r, x, fields);
        if (c === undefined) break;
        const t = fields?.get(c);
        if (t && t.kind !== "bool") r.report(MESSAGES.projectConsentNotBool, x.span, [c, describeFieldType(t)]);
        ch.consent = c;
        break;
      }
      case "quota":
        ch.quota = readRules(r, x);
        break;
      case "price": {
        const text = r.str(x, "a price such as `0.045 CNY per segment`");
        if (text === undefined) break;
        const p = parsePrice(text);
        if (p) ch.price = p;
        else r.report(MESSAGES.projectBadPrice, x.span, [text]);
        break;
      }
      case "rates":
        ch.rates = readRates(r, x);
        break;
      case "env":
        ch.env = readEnv(r, x);
        break;
      case "base_url": {
        const u = r.str(x, "a URL");
        if (u === undefined) break;
        let ok = false;
        try {
          ok = ["http:", "https:"].includes(new URL(u).protocol);
        } catch {
          ok = false;
        }
        if (ok) ch.baseUrl = u;
        else r.report(MESSAGES.projectBadUrl, x.span, [u]);
        break;
      }
      case "rate_limit": {
        const n = r.num(x, "a number of calls per second");
        if (n === undefined) break;
        if (n >= MIN_RATE_LIMIT && n <= MAX_RATE_LIMIT) ch.rateLimit = n;
        else
          r.report(MESSAGES.projectBadNumber, x.span, [
            x.path,
            `a number of calls per second from ${MIN_RATE_LIMIT} to ${MAX_RATE_LIMIT.toLocaleString("en-US")}`,
            n,
          ]);
        break;
      }
      case "concurrency": {
        const n = r.num(x, "a whole number");
        if (n === undefined) break;
        if (Number.isInteger(n) && n >= 1 && n <= MAX_CONCURRENCY) ch.concurrency = n;
        else r.report(MESSAGES.projectBadNumber, x.span, [x.path, `a whole number from 1 to ${MAX_CONCURRENCY}`, n]);
        break;
      }
      case "failover": {
        const f = r.str(x, "a channel name");
        if (f !== undefined) {
          ch.failover = f;
          r.spans.set(x.path, x.span);
        }
        break;
      }
      case "options": {
        if (r.isNull(x.node)) break;
        if (!isMap(x.node)) r.wrongType(x, "a mapping");
        else ch.options = r.toJS(x.node) as Record<string, unknown>;
        break;
      }
    }
  }
  if (!seen.has("driver")) r.missing("driver", e);
  if (!seen.has("address")) r.missing("address", e);
  if (!seen.has("rates")) r.report(MESSAGES.projectChannelWithoutRates, e.keySpan, [e.key]);
  if (ch.driver === "wecom" && !seen.has("sender")) r.report(MESSAGES.projectWecomWithoutSender, e.keySpan, [e.key]);
  return ch;
}

/** Reads `channels:`, in declaration order. A channel with errors is kept, so campaigns naming it get no second error. */
export function readChannels(
  r: YamlReader,
  e: Entry | undefined,
  fields: Map<string, FieldType> | undefined,
  rootKeySpan: Entry["keySpan"],
): Map<string, ChannelConfig> {
  const channels = new Map<string, ChannelConfig>();
  const entries = e ? r.mapping(e) : [];
  if (entries && entries.length === 0) r.report(MESSAGES.projectNoChannels, e?.keySpan ?? rootKeySpan);
  for (const x of entries ?? []) {
    const ch = readChannel(r, x, fields);
    if (ch) channels.set(ch.name, ch);
  }
  checkFailovers(r, channels);
  return channels;
}

const kindOf = (c: ChannelConfig) => DRIVER_CONTENT_KIND[c.driver as BuiltinDriver] as string | undefined;

/** `failover:` names another channel, of the same content kind, and no chain of failovers comes back to its start. */
function checkFailovers(r: YamlReader, channels: Map<string, ChannelConfig>): void {
  for (const ch of channels.values()) {
    if (ch.failover === undefined) continue;
    const span = r.spans.get(`channels.${ch.name}.failover`) ?? ch.span;
    const to = channels.get(ch.failover);
    if (!to || to === ch) {
      const help = didYouMean(
        ch.failover,
        [...channels.keys()].filter((n) => n !== ch.name),
      );
      r.report(MESSAGES.projectFailoverUnknown, span, [ch.name, ch.failover], help ? { help } : {});
      continue;
    }
    const a = kindOf(ch);
    const b = kindOf(to);
    if (a !== undefined && b !== undefined && a !== b) {
      r.report(MESSAGES.projectFailoverKind, span, [ch.name, to.name, `${ch.driver} (${a})`, `${to.driver} (${b})`]);
      continue;
    }
    const path = [ch.name];
    for (let c: ChannelConfig | undefined = to; c; c = c.failover ? channels.get(c.failover) : undefined) {
      if (c === ch) {
        r.report(MESSAGES.projectFailoverCycle, span, [[...path, ch.name].join(" → ")]);
        break;
      }
      if (path.includes(c.name)) break; // a cycle that does not pass through `ch`: reported at its own channels
      path.push(c.name);
    }
  }
}
