/**
 * Runs campaign tests (`chuda test`, after `opa test`): each test plans its inline members with the real
 * planner, unchanged, and compares every member's decisions with the expectations. `excluded` is checked by
 * evaluating policy.exclude on the test's table (excluded members never reach the planner's audience).
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { IR, ResolvedCampaign } from "../resolved/types.js";
import type { Template } from "../content/types.js";
import type { Project } from "../project/types.js";
import type { Span } from "../diagnostics/span.js";
import type { BusinessEvent, HistorySend, MemberDecision } from "../plan/types.js";
import { eventIdent } from "../events/ingest.js";
import { plan } from "../plan/plan.js";
import { compileAudience } from "../members/compile.js";
import { ident } from "../members/sql.js";
import { addDays, epochToZoned, zonedToEpoch } from "../calendar/time.js";
import { createMemberTable } from "./members.js";
import { reasonText, type Expectation, type Reason, type TestCase } from "./schema.js";

export interface RunContext {
  project: Project;
  /** Every campaign of the repository (a test may plan a subset). */
  campaigns: ResolvedCampaign[];
  exclude?: IR;
  templates: Map<string, Template>;
  conn: DuckDBConnection;
}

export interface DiffLine {
  /** "-": expected, not planned; "+": planned, not expected; " ": as expected. */
  sign: "-" | "+" | " ";
  text: string;
}

export interface Failure {
  member: string;
  campaign?: string;
  /** One line: what was expected and what happened. */
  message: string;
  lines: DiffLine[];
}

export interface TestResult {
  file: string;
  name: string;
  span: Span;
  passed: boolean;
  failures: Failure[];
}

const local = (ms: number, tz: string) => {
  const z = epochToZoned(ms, tz);
  return `${z.date} ${z.time}`;
};

const moment = (text: string, tz: string) => {
  const [date, time] = text.split(" ") as [string, string];
  const [h, m] = time.split(":").map(Number) as [number, number];
  return zonedToEpoch(date, h * 60 + m, tz);
};

let tableSeq = 0;

export async function runTest(t: TestCase, file: string, ctx: RunContext): Promise<TestResult> {
  const { project, conn } = ctx;
  const tz = project.timezone;
  const campaigns = t.campaigns ? ctx.campaigns.filter((c) => t.campaigns!.includes(c.name)) : ctx.campaigns;
  let from: string;
  let to: string;
  let due: { fromMs: number; toMs: number } | undefined;
  let today: string;
  let now: string;
  if (t.at) {
    const at = moment(t.at, tz);
    due = { fromMs: at - project.policy.catchUpMs, toMs: at };
    // As `chuda simulate --at`: quiet hours and send windows can push a send a day or two past its firing day.
    from = addDays(epochToZoned(due.fromMs, tz).date, -3);
    to = epochToZoned(at, tz).date;
    today = to;
    now = `${t.at}:00`;
  } else {
    from = t.from!;
    to = t.to!;
    today = from;
    now = `${from} 00:00:00`;
  }
  const table = `chuda_test_members_${++tableSeq}`;
  const members = await createMemberTable(conn, table, project.members, t.members);
  try {
    const history: HistorySend[] = t.history.map((h) => ({ member: h.member, campaign: h.campaign, channel: h.channel, at: moment(h.at, tz) }));
    const events: BusinessEvent[] = t.events.map((e) => {
      const time = moment(e.at, tz);
      return { ident: eventIdent(e.member, e.name, time, e.props), member: e.member, name: e.name, time, props: e.props };
    });
    const result = await plan({
      project,
      campaigns,
      exclude: ctx.exclude,
      templates: ctx.templates,
      members,
      from,
      to,
      due,
      history,
      events,
      memberRows: true,
      render: false,
    });
    const excluded = await excludedMembers(ctx, members.table, today, now);
    const byMember = new Map<string, MemberDecision[]>();
    for (const d of result.decisions) {
      const list = byMember.get(d.member);
      if (list) list.push(d);
      else byMember.set(d.member, [d]);
    }
    const failures: Failure[] = [];
    for (const ex of t.expect) {
      const decisions = (byMember.get(ex.member) ?? [])
        .filter((d) => !ex.campaign || d.campaign === ex.campaign)
        .sort((a, b) => a.sendAt - b.sendAt || (a.campaign < b.campaign ? -1 : 1));
      const f = check(ex, decisions, excluded.has(ex.member), tz);
      if (f) failures.push(f);
    }
    return { file, name: t.name, span: t.span, passed: failures.length === 0, failures };
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${members.table}`);
  }
}

/** Members matching policy.exclude on the test's day. */
async function excludedMembers(ctx: RunContext, table: string, today: string, now: string): Promise<Set<string>> {
  if (!ctx.exclude) return new Set();
  const key = `m.${ident(ctx.project.members.key)}`;
  const ex = compileAudience(ctx.exclude, ctx.project.members, { today: `DATE '${today}'`, now: `TIMESTAMP '${now}'`, alias: "m", project: ctx.project });
  const res = await ctx.conn.runAndReadAll(`SELECT CAST(${key} AS VARCHAR) FROM ${table} m WHERE COALESCE((${ex.sql}), FALSE)`, ex.params as never);
  return new Set(res.getRows().map((r) => String(r[0])));
}

const sendText = (d: MemberDecision, tz: string) => `${d.campaign} via ${d.channel} at ${local(d.sendAt, tz)}`;
const skipText = (d: MemberDecision, tz: string) => `${d.campaign}: ${reasonText(d.reason as Reason)} (${local(d.sendAt, tz)})`;

function check(ex: Expectation, decisions: MemberDecision[], excluded: boolean, tz: string): Failure | undefined {
  const sends = decisions.filter((d) => d.channel);
  const skips = decisions.filter((d) => d.reason);
  const base = { member: ex.member, ...(ex.campaign ? { campaign: ex.campaign } : {}) };
  if (ex.sends) {
    const lines: DiffLine[] = [];
    const left = [...sends];
    let missing = 0;
    for (const e of ex.sends) {
      const i = left.findIndex(
        (d) =>
          d.campaign === e.campaign &&
          (!e.channel || d.channel === e.channel) &&
          (!e.at || (e.at.length === 10 ? local(d.sendAt, tz).startsWith(e.at) : local(d.sendAt, tz) === e.at)),
      );
      if (i >= 0) {
        lines.push({ sign: " ", text: sendText(left[i]!, tz) });
        left.splice(i, 1);
      } else {
        missing++;
        lines.push({ sign: "-", text: `${e.campaign}${e.channel ? ` via ${e.channel}` : ""}${e.at ? ` at ${e.at}` : ""}` });
      }
    }
    for (const d of left) lines.push({ sign: "+", text: sendText(d, tz) });
    if (!missing && !left.length) return undefined;
    if (!sends.length) {
      const why = excluded
        ? "excluded by policy.exclude"
        : skips.length
          ? skips.map((d) => skipText(d, tz)).join("; ")
          : "not in the audience of any occurrence";
      lines.push({ sign: "+", text: `nothing: ${why}` });
    }
    const expected = ex.sends.length ? `${ex.sends.length} send${ex.sends.length === 1 ? "" : "s"}` : "nothing";
    return { ...base, message: `expected ${expected}, planned ${sends.length ? `${sends.length} send${sends.length === 1 ? "" : "s"}` : "nothing"}`, lines };
  }
  const want = ex.nothing!;
  const lines: DiffLine[] = [{ sign: "-", text: `nothing: ${reasonText(want)}` }];
  const fail = (message: string, got: DiffLine[]): Failure => ({ ...base, message, lines: [...lines, ...got] });
  if (sends.length)
    return fail(
      `expected nothing (${reasonText(want)}), planned ${sends.length} send${sends.length === 1 ? "" : "s"}`,
      sends.map((d) => ({ sign: "+", text: sendText(d, tz) })),
    );
  const actual: DiffLine[] = excluded
    ? [{ sign: "+", text: "nothing: excluded by policy.exclude" }]
    : skips.length
      ? skips.map((d) => ({ sign: "+", text: `nothing: ${skipText(d, tz)}` }))
      : [{ sign: "+", text: "nothing: not in audience" }];
  if (want === "excluded") return excluded ? undefined : fail("expected the member to be excluded by policy.exclude, and it is not", actual);
  if (want === "not_in_audience") return !excluded && !skips.length ? undefined : fail("expected the member outside every audience", actual);
  if (excluded) return fail(`expected nothing (${reasonText(want)}), but the member is excluded by policy.exclude`, actual);
  if (!skips.length) return fail(`expected nothing (${reasonText(want)}), but the member is in no audience`, actual);
  const other = skips.filter((d) => d.reason !== want);
  return other.length
    ? fail(`expected nothing (${reasonText(want)}), got ${[...new Set(other.map((d) => reasonText(d.reason as Reason)))].join(", ")}`, actual)
    : undefined;
}
