/**
 * chuda.yaml → a typed Project, with every mistake as a diagnostic at its YAML line and column.
 * Checking goes on after an error, so one run reports them all. The project is returned whenever it is usable
 * (a broken value falls back to its default); it is undefined only for a YAML syntax error, a top level that is
 * not a mapping, or no usable `members` (no fields).
 */
import { readRatesMode, readServe } from "./serve.js";
import { readFile } from "node:fs/promises";
import { dirname, relative, resolve, sep } from "node:path";
import { isMap, isScalar, isSeq } from "yaml";
import { diag } from "../diagnostics/diag.js";
import { didYouMean } from "../diagnostics/suggest.js";
import { MESSAGES } from "../diagnostics/messages/index.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { pointSpan } from "../diagnostics/span.js";
import { parseCalendarDate } from "./calendar-date.js";
import { readChannels } from "./channels.js";
import { readEvents } from "./events.js";
import { readMembers } from "./member-schema.js";
import { readPolicy } from "./policy.js";
import type { CalendarEventDef, ConversionsMapping, Project } from "./types.js";
import { IDENTIFIER, parseYaml, YamlReader, type Entry } from "./yaml-reader.js";

export const PROJECT_KEYS = [
  "timezone",
  "mall",
  "members",
  "channels",
  "policy",
  "assumptions",
  "calendar",
  "conversions",
  "ledger",
  "events",
  "serve",
  "rates",
] as const;

export const DEFAULT_TIMEZONE = "Asia/Shanghai";

/** Conversion assumptions per goal kind, used where `assumptions:` does not name that kind. */
export const DEFAULT_ASSUMPTIONS: Readonly<Record<string, number>> = { redeem: 0.1, visit: 0.05, purchase: 0.03, event: 0.05 };

/** Column names of a conversions file (`chuda report --conversions`), where `conversions:` does not name them. */
export const DEFAULT_CONVERSIONS: Readonly<ConversionsMapping> = { member: "member_id", kind: "kind", code: "code", amount: "amount", time: "time" };

export interface LoadResult {
  project?: Project;
  diagnostics: Diagnostic[];
}

/** Reads and parses a chuda.yaml file. A file that cannot be read is a diagnostic, not a throw. */
export async function loadProject(file: string): Promise<LoadResult> {
  const absFile = resolve(file);
  const root = dirname(absFile);
  let text: string;
  try {
    text = await readFile(absFile, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : ((err as Error).message ?? String(err));
    const rel = relPath(root, absFile);
    return { diagnostics: [diag(MESSAGES.projectFileUnreadable, pointSpan(rel), [rel, reason])] };
  }
  return parseProject(text, absFile, root);
}

function relPath(root: string, absFile: string): string {
  return relative(root, absFile).split(sep).join("/") || absFile;
}

function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function timezoneNames(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  return intl.supportedValuesOf ? intl.supportedValuesOf("timeZone") : [];
}

/** The pure core of loadProject: `text` is chuda.yaml's content; spans name the file relative to `root`. */
export function parseProject(text: string, absFile: string, root: string): LoadResult {
  const file = relPath(root, absFile);
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const { doc, reader: r, errors, warnings } = parseYaml(src, file);

  for (const err of errors) {
    const [start, end] = err.pos;
    const span = r.span(start, Math.max(end, start + 1 <= src.length ? start + 1 : start));
    if (err.code === "DUPLICATE_KEY") r.report(MESSAGES.projectDuplicateKey, span, [src.slice(start, end) || "?"]);
    else r.report(MESSAGES.projectYamlSyntax, span, [err.message]);
  }
  for (const w of warnings) r.report(MESSAGES.projectYamlWarning, r.span(w.pos[0], w.pos[1]), [w.message]);
  if (errors.length > 0) return { diagnostics: r.diagnostics };

  const rootEntry: Entry = { key: "", path: "", keySpan: pointSpan(file), node: r.resolve(doc.contents), span: pointSpan(file) };
  if (r.isNull(rootEntry.node)) {
    r.missing("members", rootEntry);
    return { diagnostics: r.diagnostics };
  }
  if (!isMap(rootEntry.node)) {
    r.report(MESSAGES.projectNotMapping, r.nodeSpan(rootEntry.node!), [r.describe(rootEntry.node)]);
    return { diagnostics: r.diagnostics };
  }
  const top = r.mapping(rootEntry, PROJECT_KEYS) ?? [];
  const get = (k: string) => top.find((x) => x.key === k);

  // timezone
  let timezone = DEFAULT_TIMEZONE;
  const tzEntry = get("timezone");
  if (tzEntry) {
    const tz = r.str(tzEntry, "an IANA time zone name");
    if (tz !== undefined && isValidTimezone(tz)) timezone = tz;
    else if (tz !== undefined) {
      const help = didYouMean(tz, timezoneNames());
      r.report(MESSAGES.projectBadTimezone, tzEntry.span, [tz], help ? { help } : {});
    }
  }

  const mall = readMall(r, get("mall"));

  const membersEntry = get("members");
  if (!membersEntry) r.missing("members", rootEntry);
  const members = membersEntry ? readMembers(r, membersEntry, mall?.location !== undefined) : undefined;

  const channels = readChannels(r, get("channels"), members?.fields, rootEntry.keySpan);
  const policy = readPolicy(r, get("policy"));
  const assumptions = readAssumptions(r, get("assumptions"));
  const calendar = readCalendar(r, get("calendar"));
  const conversions = readConversions(r, get("conversions"));
  const ledger = readLedger(r, get("ledger"));
  const events = readEvents(r, get("events"));
  const serve = readServe(r, get("serve"));
  const rates = readRatesMode(r, get("rates"));

  if (!members) return { diagnostics: r.diagnostics };
  const project: Project = {
    root,
    file: absFile,
    timezone,
    members,
    channels,
    policy,
    assumptions,
    calendar,
    conversions,
    events,
    serve,
    rates,
    spans: r.spans,
  };
  if (mall) project.mall = mall;
  if (ledger) project.ledger = ledger;
  return { project, diagnostics: r.diagnostics };
}

function readMall(r: YamlReader, e: Entry | undefined): Project["mall"] {
  if (!e) return undefined;
  const entries = r.mapping(e, ["name", "location"]);
  if (!entries) return undefined;
  const mall: NonNullable<Project["mall"]> = {};
  for (const x of entries) {
    if (x.key === "name") {
      const name = r.str(x);
      if (name !== undefined) mall.name = name;
      continue;
    }
    // location: [lon, lat]
    if (!isSeq(x.node) || x.node.items.length !== 2) {
      r.report(MESSAGES.projectBadLocation, x.span, [x.path, `found ${isSeq(x.node) ? `a list of ${x.node.items.length}` : r.describe(x.node)}`]);
      continue;
    }
    const items = r.list(x) ?? [];
    const nums = items.map((it) => (isScalar(it.node) && typeof it.node.value === "number" ? it.node.value : undefined));
    const bad = items.find((_, i) => nums[i] === undefined);
    if (bad) {
      r.report(MESSAGES.projectBadLocation, bad.span, [x.path, `found ${r.describe(bad.node)}`]);
      continue;
    }
    const [lon, lat] = nums as [number, number];
    if (lon < -180 || lon > 180) r.report(MESSAGES.projectBadLocation, items[0]!.span, [x.path, `longitude ${lon} is outside -180..180`]);
    else if (lat < -90 || lat > 90)
      r.report(MESSAGES.projectBadLocation, items[1]!.span, [x.path, `latitude ${lat} is outside -90..90`], {
        help: Math.abs(lon) <= 90 && Math.abs(lat) <= 180 ? "longitude comes first: [lon, lat]" : undefined,
      });
    else mall.location = [lon, lat];
  }
  return mall;
}

function readAssumptions(r: YamlReader, e: Entry | undefined): Record<string, number> {
  const out: Record<string, number> = { ...DEFAULT_ASSUMPTIONS };
  for (const x of (e ? r.mapping(e, Object.keys(DEFAULT_ASSUMPTIONS)) : []) ?? []) {
    const v = r.num(x, "a fraction between 0 and 1");
    if (v === undefined) continue;
    if (v < 0 || v > 1) r.report(MESSAGES.projectAssumptionOutOfRange, x.span, [x.key, v]);
    else out[x.key] = v;
  }
  return out;
}

function readCalendar(r: YamlReader, e: Entry | undefined): Map<string, CalendarEventDef> {
  const out = new Map<string, CalendarEventDef>();
  for (const x of (e ? r.mapping(e) : []) ?? []) {
    if (!IDENTIFIER.test(x.key)) r.report(MESSAGES.projectBadName, x.keySpan, [x.key, "calendar event"]);
    const v = isScalar(x.node) ? x.node.value : undefined;
    // A plain scalar is read as written: `2026-05-20` stays a date string even where YAML 1.1 makes it a timestamp.
    const text = x.node ? r.sourceText(x.node) : undefined;
    const value = v instanceof Date ? (text ?? v) : typeof v === "string" ? v : undefined;
    if (value === undefined) {
      r.wrongType(x, 'a date (`"MM-DD"` or `YYYY-MM-DD`)');
      continue;
    }
    const def = parseCalendarDate(value, x.span);
    if (def) out.set(x.key, def);
    else r.report(MESSAGES.projectBadCalendarDate, x.span, [value instanceof Date ? value.toISOString().slice(0, 10) : value]);
  }
  return out;
}

function readConversions(r: YamlReader, e: Entry | undefined): ConversionsMapping {
  const out: ConversionsMapping = { ...DEFAULT_CONVERSIONS };
  for (const x of (e ? r.mapping(e, Object.keys(DEFAULT_CONVERSIONS)) : []) ?? []) {
    const v = r.str(x, "a column name");
    if (v !== undefined) out[x.key as keyof ConversionsMapping] = v;
  }
  return out;
}

/** `ledger: { url_env: NAME }`: the ledger in PostgreSQL at the URL that variable holds (never the URL itself). */
function readLedger(r: YamlReader, e: Entry | undefined): Project["ledger"] {
  if (!e) return undefined;
  const entries = r.mapping(e, ["url_env", "url"]);
  if (!entries) return undefined;
  let urlEnv: string | undefined;
  for (const x of entries) {
    // The value is never echoed: it holds a password.
    if (x.key === "url") r.report(MESSAGES.projectLedgerUrlInRepository, x.keySpan);
    else {
      const v = r.str(x, "the name of an environment variable");
      if (v === undefined) continue;
      if (/^[A-Z_][A-Z0-9_]*$/.test(v)) urlEnv = v;
      else r.report(MESSAGES.projectLedgerUrlEnvName, x.keySpan);
    }
  }
  if (!entries.some((x) => x.key === "url_env")) r.report(MESSAGES.projectLedgerUrlEnvMissing, e.keySpan);
  return urlEnv === undefined ? undefined : { urlEnv };
}
