/**
 * Reads a campaign test file (tests/*.yaml; the shape is documented in README.md here). Every mistake is a
 * Diagnostic pointing at its YAML line and column, like a mistake in a campaign; nothing is thrown.
 */
import { isMap, isScalar, isSeq, type LineCounter, type Node, type YAMLMap } from "yaml";
import { parseYaml } from "../project/yaml-reader.js";
import type { Span } from "../diagnostics/span.js";
import type { Diagnostic, MessageDef } from "../diagnostics/types.js";
import { diag } from "../diagnostics/diag.js";
import { didYouMean } from "../diagnostics/suggest.js";
import { testsMessages as M } from "../diagnostics/messages/tests.js";
import type { FieldType, Project } from "../project/types.js";
import type { SkipReason } from "../plan/types.js";
import { isValidDate } from "../calendar/time.js";
import { checkMessages as CM } from "../diagnostics/messages/check.js";
import { toEvent } from "../events/ingest.js";

/** Why a member receives nothing: a planner reason, or two that the planner never records as rows. */
export type Reason = SkipReason | "excluded" | "not_in_audience";

export const REASON_WORDS: Record<string, Reason> = {
  excluded: "excluded",
  "not in audience": "not_in_audience",
  held_out: "held_out",
  "held out": "held_out",
  unreachable: "unreachable",
  "capped by repeat": "capped:repeat",
  "capped by policy.max": "capped:policy.max",
  "capped by quota": "capped:quota",
  "capped by limit": "capped:limit",
  "capped by budget": "capped:budget",
};

/** `capped:policy.max` → `capped by policy.max`, `not_in_audience` → `not in audience`, `held_out` → `held out`. */
export function reasonText(r: Reason): string {
  if (r.startsWith("capped:")) return `capped by ${r.slice(7)}`;
  if (r === "not_in_audience") return "not in audience";
  if (r === "held_out") return "held out";
  return r;
}

export function parseReason(text: string): Reason | undefined {
  const s = text.trim().toLowerCase().replace(/\s+/g, " ");
  if (REASON_WORDS[s]) return REASON_WORDS[s];
  if (s.startsWith("capped:")) return REASON_WORDS[`capped by ${s.slice(7)}`];
  if (s === "not_in_audience") return "not_in_audience";
  return undefined;
}

/** A member field value as given inline, checked against its type (lists as string arrays, dates as text). */
export type CellValue = string | number | boolean | string[] | null;

export interface MemberRow {
  key: string;
  values: Map<string, CellValue>;
  span: Span;
}

export interface ExpectedSend {
  campaign: string;
  channel?: string;
  /** "YYYY-MM-DD HH:MM" (exact) or "YYYY-MM-DD" (any time that day), project-local. */
  at?: string;
  span: Span;
}

export interface Expectation {
  member: string;
  /** Only this campaign's decisions count for this expectation. */
  campaign?: string;
  sends?: ExpectedSend[];
  nothing?: Reason;
  span: Span;
}

export interface HistoryEntry {
  member: string;
  campaign: string;
  channel: string;
  /** "YYYY-MM-DD HH:MM", project-local. */
  at: string;
}

export interface TestCase {
  name: string;
  span: Span;
  /** Campaigns planned (default: every campaign of the repository). */
  campaigns?: string[];
  /** A moment (what `dispatch --at` would send), "YYYY-MM-DD HH:MM". */
  at?: string;
  /** Or a range of days. */
  from?: string;
  to?: string;
  members: MemberRow[];
  history: HistoryEntry[];
  /** Business events received before `at`: they fire the campaigns triggered by their names. */
  events: TestEvent[];
  expect: Expectation[];
}

export interface TestEvent {
  member: string;
  name: string;
  /** "YYYY-MM-DD HH:MM", project-local. */
  at: string;
  props: Record<string, unknown>;
}

export interface TestFile {
  file: string;
  tests: TestCase[];
}

export interface SchemaContext {
  project: Project;
  /** Names of the repository's campaigns. */
  campaigns: Set<string>;
}

const FILE_KEYS = ["campaigns", "members", "tests"];
const TEST_KEYS = ["name", "campaigns", "at", "from", "to", "members", "history", "events", "expect"];
const EVENT_KEYS = ["member", "name", "at", "props"];
const EXPECT_KEYS = ["member", "campaign", "sends", "nothing"];
const SEND_KEYS = ["campaign", "channel", "at"];
const HISTORY_KEYS = ["member", "campaign", "channel", "at"];
const MOMENT = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

class Reader {
  readonly diagnostics: Diagnostic[] = [];
  constructor(
    private readonly lc: LineCounter,
    readonly file: string,
  ) {}
  span(node: Node | null | undefined, fallback?: Span): Span {
    if (!node?.range) return fallback ?? this.at(0, 0);
    return this.at(node.range[0], node.range[1]);
  }
  at(start: number, end: number): Span {
    const p = (o: number) => {
      const { line, col } = this.lc.linePos(o);
      return { line, column: col, offset: o };
    };
    return { file: this.file, start: p(start), end: p(Math.max(start, end)) };
  }
  report(def: MessageDef, span: Span, args: (string | number)[] = [], extra: Parameters<typeof diag>[3] = {}) {
    this.diagnostics.push(diag(def, span, args, extra));
  }
  describe(node: Node | null | undefined): string {
    if (!node || (isScalar(node) && node.value === null)) return "nothing";
    if (isMap(node)) return "a mapping";
    if (isSeq(node)) return "a list";
    const v = (node as { value?: unknown }).value;
    return typeof v === "string" ? `"${v}"` : typeof v === "number" ? `the number ${v}` : typeof v === "boolean" ? `${v}` : "a value";
  }
  /** The entries of a mapping, reporting keys outside `allowed`. */
  entries(node: Node, allowed: string[], where: string): Map<string, { key: Node; value: Node | null }> {
    const out = new Map<string, { key: Node; value: Node | null }>();
    for (const pair of (node as YAMLMap<Node, Node | null>).items) {
      const k = pair.key as Node;
      const name = isScalar(k) ? String(k.value) : "";
      if (!allowed.includes(name)) {
        const dym = didYouMean(name, allowed);
        this.report(M.testUnknownKey, this.span(k), [name, where, allowed.join(", ")], dym ? { help: `${dym} (allowed here: ${allowed.join(", ")})` } : {});
        continue;
      }
      out.set(name, { key: k, value: (pair.value as Node | null) ?? null });
    }
    return out;
  }
  /** A scalar as text (numbers too), or undefined with a diagnostic. */
  text(e: { key: Node; value: Node | null } | undefined, what: string): string | undefined {
    if (!e) return undefined;
    const v = e.value;
    if (v && isScalar(v) && (typeof v.value === "string" || typeof v.value === "number") && String(v.value).trim() !== "") return String(v.value).trim();
    this.report(M.testWrongType, this.span(v ?? e.key), [what, "text", this.describe(v)]);
    return undefined;
  }
}

export function parseTestFile(text: string, file: string, ctx: SchemaContext): { test: TestFile; diagnostics: Diagnostic[] } {
  const { doc, lineCounter, errors } = parseYaml(text, file);
  const r = new Reader(lineCounter, file);
  const out: TestFile = { file, tests: [] };
  if (errors.length) {
    for (const e of errors) r.report(M.testYamlSyntax, r.at(e.pos[0], e.pos[1]), [e.message]);
    return { test: out, diagnostics: r.diagnostics };
  }
  const root = doc.contents as Node | null;
  if (!root || !isMap(root)) {
    r.report(M.testWrongType, r.span(root), ["the test file", "a mapping with `tests:`", r.describe(root)]);
    return { test: out, diagnostics: r.diagnostics };
  }
  const top = r.entries(root, FILE_KEYS, "a test file");
  const fileCampaigns = readCampaigns(r, top.get("campaigns"), ctx);
  const fileMembers = top.has("members") ? readMembers(r, top.get("members")!, ctx) : [];
  const tests = top.get("tests");
  if (!tests) {
    r.report(M.testMissingKey, r.span(root), ["a test file", "tests"]);
    return { test: out, diagnostics: r.diagnostics };
  }
  if (!tests.value || !isSeq(tests.value)) {
    r.report(M.testWrongType, r.span(tests.value ?? tests.key), ["tests", "a list of tests", r.describe(tests.value)]);
    return { test: out, diagnostics: r.diagnostics };
  }
  const names = new Set<string>();
  for (const item of tests.value.items as Node[]) {
    if (!isMap(item)) {
      r.report(M.testWrongType, r.span(item), ["a test", "a mapping", r.describe(item)]);
      continue;
    }
    const t = readTest(r, item, ctx, fileCampaigns, fileMembers);
    if (!t) continue;
    if (names.has(t.name)) r.report(M.testDuplicateName, t.span, [t.name]);
    names.add(t.name);
    out.tests.push(t);
  }
  return { test: out, diagnostics: r.diagnostics };
}

function readCampaigns(r: Reader, e: { key: Node; value: Node | null } | undefined, ctx: SchemaContext): string[] | undefined {
  if (!e) return undefined;
  const v = e.value;
  const items = v && isSeq(v) ? (v.items as Node[]) : v && isScalar(v) ? [v] : undefined;
  if (!items) {
    r.report(M.testWrongType, r.span(v ?? e.key), ["campaigns", "a list of campaign names", r.describe(v)]);
    return undefined;
  }
  const out: string[] = [];
  for (const n of items) {
    const name = isScalar(n) ? String(n.value) : "";
    if (!ctx.campaigns.has(name)) {
      const dym = didYouMean(name, ctx.campaigns);
      r.report(M.testUnknownCampaign, r.span(n), [name], dym ? { help: dym } : {});
    } else out.push(name);
  }
  return out;
}

function readTest(r: Reader, node: Node, ctx: SchemaContext, fileCampaigns: string[] | undefined, fileMembers: MemberRow[]): TestCase | undefined {
  const e = r.entries(node, TEST_KEYS, "a test");
  const span = r.span(node);
  const name = e.has("name") ? r.text(e.get("name"), "name") : undefined;
  if (!e.has("name")) r.report(M.testMissingKey, r.at(node.range![0], node.range![0] + 1), ["a test", "name"]);
  if (!name) return undefined;
  const t: TestCase = { name, span: e.has("name") ? r.span(e.get("name")!.key) : span, members: [], history: [], events: [], expect: [] };
  const campaigns = e.has("campaigns") ? readCampaigns(r, e.get("campaigns"), ctx) : fileCampaigns;
  if (campaigns) t.campaigns = campaigns;

  const at = r.text(e.get("at"), "at");
  const from = r.text(e.get("from"), "from");
  const to = r.text(e.get("to"), "to");
  if (at !== undefined) {
    if (!isMoment(at)) r.report(M.testBadMoment, r.span(e.get("at")!.value), ["at", JSON.stringify(at), "a moment (YYYY-MM-DD HH:MM)"]);
    else t.at = at.replace("T", " ");
  }
  for (const [k, v] of [
    ["from", from],
    ["to", to],
  ] as const) {
    if (v === undefined) continue;
    if (!DATE.test(v) || !isValidDate(v)) r.report(M.testBadMoment, r.span(e.get(k)!.value), [k, JSON.stringify(v), "a day (YYYY-MM-DD)"]);
    else t[k] = v;
  }
  if (e.has("at") && (e.has("from") || e.has("to"))) r.report(M.testMomentChoice, span, ["not both"]);
  else if (!e.has("at") && !(e.has("from") && e.has("to")))
    r.report(M.testMomentChoice, t.span, [e.has("from") || e.has("to") ? "and a range needs both `from` and `to`" : "and this test has neither"]);
  if (t.from && t.to && t.to < t.from) r.report(M.testBadMoment, r.span(e.get("to")!.value), ["to", t.to, `on or after from (${t.from})`]);

  // Members: the file's shared rows, then the test's own (a test row replaces a shared row with the same key).
  const own = e.has("members") ? readMembers(r, e.get("members")!, ctx) : [];
  const byKey = new Map<string, MemberRow>();
  for (const m of fileMembers) byKey.set(m.key, m);
  for (const m of own) byKey.set(m.key, m);
  t.members = [...byKey.values()];
  if (!t.members.length && !e.has("members")) r.report(M.testMissingKey, t.span, [`test "${name}"`, "members"]);

  const h = e.get("history");
  if (h) {
    if (!h.value || !isSeq(h.value)) r.report(M.testWrongType, r.span(h.value ?? h.key), ["history", "a list of earlier sends", r.describe(h.value)]);
    else
      for (const item of h.value.items as Node[]) {
        if (!isMap(item)) {
          r.report(M.testWrongType, r.span(item), ["a history entry", "a mapping", r.describe(item)]);
          continue;
        }
        const he = r.entries(item, HISTORY_KEYS, "a history entry");
        const vals = HISTORY_KEYS.map((k) =>
          he.has(k) ? r.text(he.get(k), k) : (r.report(M.testMissingKey, r.span(item), ["a history entry", k]), undefined),
        );
        const [member, campaign, channel, when] = vals;
        if (when !== undefined && !isMoment(when))
          r.report(M.testBadMoment, r.span(he.get("at")!.value), ["at", JSON.stringify(when), "a moment (YYYY-MM-DD HH:MM)"]);
        else if (channel !== undefined && !ctx.project.channels.has(channel))
          r.report(M.testWrongType, r.span(he.get("channel")!.value), [
            "channel",
            `a channel of chuda.yaml (${[...ctx.project.channels.keys()].join(", ")})`,
            JSON.stringify(channel),
          ]);
        else if (member && campaign && channel && when) t.history.push({ member, campaign, channel, at: when.replace("T", " ") });
      }
  }

  const ev = e.get("events");
  if (ev) {
    if (!ev.value || !isSeq(ev.value)) r.report(M.testWrongType, r.span(ev.value ?? ev.key), ["events", "a list of events", r.describe(ev.value)]);
    else
      for (const item of ev.value.items as Node[]) {
        const data = item && isMap(item) ? (item.toJSON() as Record<string, unknown>) : undefined;
        const problem = testEventProblem(data, ctx);
        if (problem) r.report(CM.testBadEvent, r.span(item), [name ?? "", problem]);
        else
          t.events.push({
            member: String(data!["member"]),
            name: String(data!["name"]),
            at: String(data!["at"]).replace("T", " "),
            props: (data!["props"] ?? {}) as Record<string, unknown>,
          });
      }
  }

  const x = e.get("expect");
  if (!x) r.report(M.testMissingKey, t.span, [`test "${name}"`, "expect"]);
  else if (!x.value || !isSeq(x.value)) r.report(M.testWrongType, r.span(x.value ?? x.key), ["expect", "a list of expectations", r.describe(x.value)]);
  else
    for (const item of x.value.items as Node[]) {
      const ex = readExpectation(r, item, ctx, t);
      if (ex) t.expect.push(ex);
    }
  return t;
}

function readExpectation(r: Reader, item: Node, ctx: SchemaContext, t: TestCase): Expectation | undefined {
  if (!isMap(item)) {
    r.report(M.testWrongType, r.span(item), ["an expectation", "a mapping", r.describe(item)]);
    return undefined;
  }
  const e = r.entries(item, EXPECT_KEYS, "an expectation");
  const span = r.span(item);
  if (!e.has("member")) {
    r.report(M.testMissingKey, span, ["an expectation", "member"]);
    return undefined;
  }
  const member = r.text(e.get("member"), "member");
  if (member === undefined) return undefined;
  if (!t.members.some((m) => m.key === member)) {
    const dym = didYouMean(
      member,
      t.members.map((m) => m.key),
    );
    r.report(M.testUnknownMember, r.span(e.get("member")!.value), [member], dym ? { help: dym } : {});
  }
  const ex: Expectation = { member, span };
  if (e.has("campaign")) {
    const c = r.text(e.get("campaign"), "campaign");
    if (c !== undefined && !ctx.campaigns.has(c))
      r.report(M.testUnknownCampaign, r.span(e.get("campaign")!.value), [c], { help: didYouMean(c, ctx.campaigns) });
    else if (c !== undefined) ex.campaign = c;
  }
  if (e.has("sends") === e.has("nothing")) {
    r.report(M.testSendsOrNothing, span, [member, e.has("sends") ? "not both" : "and this one has neither"]);
    return undefined;
  }
  if (e.has("nothing")) {
    const text = r.text(e.get("nothing"), "nothing");
    if (text === undefined) return undefined;
    const reason = parseReason(text);
    if (!reason) {
      const words = Object.keys(REASON_WORDS).filter((w) => !w.includes("_"));
      const dym = didYouMean(text, words);
      r.report(M.testUnknownReason, r.span(e.get("nothing")!.value), [text, words.join(", ")], dym ? { help: `${dym} (one of: ${words.join(", ")})` } : {});
      return undefined;
    }
    ex.nothing = reason;
    return ex;
  }
  const s = e.get("sends")!;
  const list = s.value === null || (isScalar(s.value) && s.value.value === null) ? [] : s.value && isSeq(s.value) ? (s.value.items as Node[]) : undefined;
  if (!list) {
    r.report(M.testWrongType, r.span(s.value ?? s.key), ["sends", "a list of sends (or [] for none)", r.describe(s.value)]);
    return undefined;
  }
  ex.sends = [];
  for (const n of list) {
    if (!isMap(n)) {
      r.report(M.testWrongType, r.span(n), ["a send", "a mapping with campaign, channel and at", r.describe(n)]);
      continue;
    }
    const se = r.entries(n, SEND_KEYS, "a send");
    const campaign = se.has("campaign") ? r.text(se.get("campaign"), "campaign") : ex.campaign;
    if (!campaign) {
      if (!se.has("campaign")) r.report(M.testMissingKey, r.span(n), ["a send", "campaign"]);
      continue;
    }
    if (!ctx.campaigns.has(campaign)) {
      r.report(M.testUnknownCampaign, r.span(se.get("campaign")?.value ?? n), [campaign], { help: didYouMean(campaign, ctx.campaigns) });
      continue;
    }
    const send: ExpectedSend = { campaign, span: r.span(n) };
    const channel = r.text(se.get("channel"), "channel");
    if (channel !== undefined) {
      if (!ctx.project.channels.has(channel)) {
        r.report(M.testWrongType, r.span(se.get("channel")!.value), [
          "channel",
          `a channel of chuda.yaml (${[...ctx.project.channels.keys()].join(", ")})`,
          JSON.stringify(channel),
        ]);
        continue;
      }
      send.channel = channel;
    }
    const at = r.text(se.get("at"), "at");
    if (at !== undefined) {
      if (!isMoment(at) && !(DATE.test(at) && isValidDate(at))) {
        r.report(M.testBadMoment, r.span(se.get("at")!.value), ["at", JSON.stringify(at), "a moment (YYYY-MM-DD HH:MM) or a day (YYYY-MM-DD)"]);
        continue;
      }
      send.at = at.replace("T", " ");
    }
    ex.sends.push(send);
  }
  return ex;
}

/** Why an event of a test does not fit chuda.yaml `events:`, or undefined when it does. */
function testEventProblem(data: Record<string, unknown> | undefined, ctx: SchemaContext): string | undefined {
  if (!data) return "an event must be a mapping {member, name, at, props}";
  const extra = Object.keys(data).filter((k) => !EVENT_KEYS.includes(k));
  if (extra.length) return `unknown key ${extra.map((k) => `\`${k}\``).join(", ")}`;
  if (typeof data["at"] !== "string" || !isMoment(data["at"])) return "`at` must be a moment (YYYY-MM-DD HH:MM)";
  const r = toEvent({ member: data["member"], name: data["name"], time: 1, props: data["props"] ?? {} }, ctx.project.events ?? new Map());
  return typeof r === "string" ? r : undefined;
}

function isMoment(s: string): boolean {
  const m = MOMENT.exec(s);
  return !!m && isValidDate(m[1]!) && Number(m[2]) < 24 && Number(m[3]) < 60;
}

function readMembers(r: Reader, e: { key: Node; value: Node | null }, ctx: SchemaContext): MemberRow[] {
  const v = e.value;
  if (!v || !isSeq(v)) {
    r.report(M.testWrongType, r.span(v ?? e.key), ["members", "a list of member rows", r.describe(v)]);
    return [];
  }
  const schema = ctx.project.members;
  const out: MemberRow[] = [];
  const seen = new Set<string>();
  for (const item of v.items as Node[]) {
    if (!isMap(item)) {
      r.report(M.testWrongType, r.span(item), ["a member row", "a mapping of member fields", r.describe(item)]);
      continue;
    }
    const values = new Map<string, CellValue>();
    for (const pair of (item as YAMLMap<Node, Node | null>).items) {
      const k = pair.key as Node;
      const name = isScalar(k) ? String(k.value) : "";
      const type = schema.fields.get(name);
      if (!type) {
        const dym = didYouMean(name, schema.fields.keys());
        r.report(M.testUnknownField, r.span(k), [name], dym ? { help: dym } : {});
        continue;
      }
      const cell = readCell(r, (pair.value as Node | null) ?? null, name, type);
      if (cell !== undefined) values.set(name, cell);
    }
    const key = values.get(schema.key);
    if (key === undefined || key === null) {
      r.report(M.testMissingKey, r.span(item), ["a member row", schema.key]);
      continue;
    }
    // A row with a bad value is kept (the file has errors and will not run), so expectations about it do not cascade.
    const k = String(key);
    if (seen.has(k)) r.report(M.testDuplicateMember, r.span(item), [k]);
    seen.add(k);
    out.push({ key: k, values, span: r.span(item) });
  }
  return out;
}

const DATETIME = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/** One inline value checked against its field type; undefined (with a diagnostic) when it does not fit. */
function readCell(r: Reader, node: Node | null, field: string, type: FieldType): CellValue | undefined {
  if (!node || (isScalar(node) && (node.value === null || node.value === undefined))) return null;
  const bad = (what: string = r.describe(node)) => {
    const help = type.kind === "enum" ? didYouMean(String((node as { value?: unknown }).value ?? ""), type.values) : undefined;
    r.report(M.testBadValue, r.span(node), [field, type.kind === "enum" ? `enum (${type.values.join(", ")})` : type.kind, what], help ? { help } : {});
    return undefined;
  };
  if (type.kind === "list") {
    if (isSeq(node)) {
      const items = (node.items as Node[]).map((n) => (isScalar(n) && n.value !== null ? String(n.value) : undefined));
      return items.every((x) => x !== undefined) ? (items as string[]) : bad();
    }
    if (isScalar(node) && typeof node.value === "string")
      return node.value
        .split(/[;,]/)
        .map((s) => s.trim())
        .filter(Boolean);
    return bad();
  }
  if (!isScalar(node)) return bad();
  const v = node.value;
  switch (type.kind) {
    case "string":
    case "phone":
      return typeof v === "string" || typeof v === "number" ? String(v) : bad();
    case "number":
      return typeof v === "number" && Number.isFinite(v) ? v : bad();
    case "bool":
      return typeof v === "boolean" ? v : bad();
    case "date":
      return typeof v === "string" && DATE.test(v) && isValidDate(v) ? v : bad();
    case "datetime": {
      const m = typeof v === "string" ? DATETIME.exec(v.trim()) : null;
      if (!m || !isValidDate(m[1]!) || Number(m[2] ?? 0) > 23 || Number(m[3] ?? 0) > 59) return bad();
      return `${m[1]} ${m[2] ?? "00"}:${m[3] ?? "00"}:${m[4] ?? "00"}`;
    }
    case "enum":
      return typeof v === "string" && type.values.includes(v) ? v : bad();
  }
}
