/**
 * The `policy:` section: exclude (an expression, parsed by the checker), max (frequency rules across all campaigns
 * and channels), quiet_hours, default_time (default 10:00), catch_up (the project's addition, default 6 hours) and expire_after
 * (default 24 hours).
 */
import { isScalar, Scalar } from "yaml";
import { MESSAGES } from "../diagnostics/messages/index.js";
import { readRules } from "./channels.js";
import { parseClock, parseClockRange, parseDuration } from "./duration.js";

/** How far back a run still sends an occurrence it missed: a year at most. */
export const MAX_CATCH_UP_DAYS = 366;
import type { Policy } from "./types.js";
import type { Entry, YamlReader } from "./yaml-reader.js";

export const POLICY_KEYS = ["exclude", "max", "quiet_hours", "default_time", "catch_up", "expire_after"] as const;

export const DEFAULT_TIME = 10 * 60;
export const DEFAULT_CATCH_UP_MS = 6 * 60 * 60 * 1000;
/** A send not made within this long after its planned time is never made (state `expired`). */
export const DEFAULT_EXPIRE_AFTER_MS = 24 * 60 * 60 * 1000;

/** A time-like value as written: the source text of a plain scalar (YAML 1.1 would read `10:00` as 600), else the string. */
function timeText(r: YamlReader, x: Entry, expected: string): string | undefined {
  const src = x.node ? r.sourceText(x.node) : undefined;
  if (src !== undefined && isScalar(x.node) && typeof x.node.value !== "boolean" && x.node.value !== null) return src;
  return r.str(x, expected);
}

export function readPolicy(r: YamlReader, e: Entry | undefined): Policy {
  const policy: Policy = { max: [], defaultTime: DEFAULT_TIME, catchUpMs: DEFAULT_CATCH_UP_MS };
  for (const x of (e ? r.mapping(e, POLICY_KEYS) : []) ?? []) {
    switch (x.key as (typeof POLICY_KEYS)[number]) {
      case "exclude": {
        const source = r.str(x, "an expression");
        if (source === undefined) break;
        let span = x.span;
        // Point at the expression itself, inside the quotes, so the checker's offsets line up.
        const node = x.node as Scalar;
        if ((node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE) && x.span.start.line === x.span.end.line) {
          span = r.span(x.span.start.offset + 1, x.span.end.offset - 1);
        }
        r.spans.set(x.path, span);
        policy.exclude = { source, span };
        break;
      }
      case "max":
        policy.max = readRules(r, x);
        break;
      case "quiet_hours": {
        const text = timeText(r, x, 'a time range such as `"21:00-09:00"`');
        if (text === undefined) break;
        const range = parseClockRange(text);
        if (range) policy.quietHours = { ...range, span: x.span };
        else r.report(MESSAGES.projectBadTimeRange, x.span, [text]);
        break;
      }
      case "default_time": {
        const text = timeText(r, x, 'a time such as `"10:00"`');
        if (text === undefined) break;
        const t = parseClock(text);
        if (t !== undefined) policy.defaultTime = t;
        else r.report(MESSAGES.projectBadTime, x.span, [text]);
        break;
      }
      case "catch_up": {
        const text = r.str(x, "a duration such as `6 hours`");
        if (text === undefined) break;
        const ms = parseDuration(text);
        if (ms === undefined) r.report(MESSAGES.projectBadDuration, x.span, [text]);
        else if (ms > MAX_CATCH_UP_DAYS * 86_400_000) r.report(MESSAGES.projectBadNumber, x.span, [x.path, `at most ${MAX_CATCH_UP_DAYS} days`, text]);
        else policy.catchUpMs = ms;
        break;
      }
      case "expire_after": {
        const text = r.str(x, "a duration such as `24 hours`");
        if (text === undefined) break;
        const ms = parseDuration(text);
        if (ms === undefined) r.report(MESSAGES.projectBadDuration, x.span, [text]);
        else if (ms <= 0) r.report(MESSAGES.projectExpireAfterZero, x.span, [text]);
        else policy.expireAfterMs = ms;
        break;
      }
    }
  }
  return policy;
}
