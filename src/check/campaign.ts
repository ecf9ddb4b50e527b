/**
 * One campaign: its clauses (each at most once; audience, trigger, content and channel required) → a
 * ResolvedCampaign, or undefined when anything in it is an error (warnings do not exclude a campaign).
 */
import type { CampaignDecl, Clause, ClauseKind, Goal } from "../language/ast.js";
import { joinSpans } from "../diagnostics/span.js";
import type { Project } from "../project/types.js";
import type { Template } from "../content/types.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { diag } from "../diagnostics/diag.js";
import { checkMessages as M } from "../diagnostics/messages/check.js";
import type { IR, ResolvedCampaign, ResolvedGoal, ResolvedTrigger } from "../resolved/types.js";
import type { Segments } from "./segments.js";
import { checkCondition, checkValue } from "./expr.js";
import { timingWarnings } from "./timing.js";
import { resolveTrigger } from "./trigger.js";
import { resolveChannels, resolveTemplate, resolveWith, type TemplateDiagnostics } from "./content.js";
import { checkDate, checkTime, formatMinutes } from "./literals.js";
import { operandText } from "./describe.js";

export interface CampaignEnv {
  project: Project;
  templates: ReadonlyMap<string, Template>;
  /** Built-in calendar events ∪ the project's `calendar:` names. */
  events: ReadonlySet<string>;
  segments: Segments;
  /** Template-file diagnostics already reported by another campaign. */
  templateDiagnostics: TemplateDiagnostics;
}

const REQUIRED: readonly ClauseKind[] = ["audience", "trigger", "content", "channel"];
const CLAUSE_WORD: Record<ClauseKind, string> = {
  audience: "audience",
  trigger: "trigger",
  content: "content",
  channel: "channel",
  goal: "goal",
  priority: "priority",
  holdout: "holdout",
  repeat: "repeat",
  active: "active",
  send_window: "send between",
  limit: "limit",
  budget: "budget",
  expire: "expire after",
};
const ORDERED = new Set(["number", "string", "date", "datetime", "enum"]);

type ClauseOf<K extends ClauseKind> = Extract<Clause, { kind: K }>;

export function checkCampaign(c: CampaignDecl, env: CampaignEnv, diagnostics: Diagnostic[]): ResolvedCampaign | undefined {
  const out: Diagnostic[] = [];
  const name = c.name.name;
  const { project } = env;

  // Clauses: each at most once.
  const clauses = new Map<ClauseKind, Clause>();
  for (const cl of c.clauses) {
    const first = clauses.get(cl.kind);
    if (first) {
      const word = CLAUSE_WORD[cl.kind];
      out.push(diag(M.duplicateClause, cl.span, [word, name], { related: [{ span: first.span, message: `the first \`${word}\` is here` }] }));
    } else clauses.set(cl.kind, cl);
  }
  const get = <K extends ClauseKind>(k: K) => clauses.get(k) as ClauseOf<K> | undefined;
  const written = new Set(c.broken ?? []);
  for (const k of REQUIRED) if (!clauses.has(k) && !written.has(k)) out.push(diag(M.missingClause, c.name.span, [name, k]));
  if (!clauses.has("goal") && !written.has("goal")) out.push(diag(M.missingGoal, c.name.span, [name]));

  const exprEnv = env.segments.envFor(out);
  // `event.<prop>` in the audience is typed by the properties of the business event the trigger names.
  const triggered = get("trigger")?.trigger;
  const businessEvent =
    triggered && (triggered.kind === "on_event" || triggered.kind === "offset") ? triggered.event.business && triggered.event.name : undefined;
  const eventProps = businessEvent !== undefined ? project.events?.get(businessEvent) : undefined;
  const audienceEnv = eventProps && businessEvent !== undefined ? { ...exprEnv, event: { name: businessEvent, props: eventProps } } : exprEnv;

  const audienceClause = get("audience");
  const audience: IR | undefined = audienceClause && checkCondition(audienceClause.expr, audienceEnv);

  const triggerClause = get("trigger");
  const trigger: ResolvedTrigger | undefined = triggerClause && resolveTrigger(triggerClause.trigger, { project, events: env.events, out });

  const channelClause = get("channel");
  const channels = channelClause && resolveChannels(channelClause, project, out);

  const contentClause = get("content");
  let withValues: Record<string, string | number | boolean> | undefined;
  let templateOk = false;
  if (contentClause) {
    withValues = resolveWith(contentClause, out);
    const listed = (channelClause?.channels ?? []).map((i) => i.name).filter((n) => project.channels.has(n));
    templateOk = resolveTemplate(
      contentClause,
      name,
      [...new Set(listed)],
      contentClause.with.map((w) => w.key.name),
      project,
      env.templates,
      env.templateDiagnostics,
      out,
    );
  }

  const goalClause = get("goal");
  const goal = goalClause && resolveGoal(goalClause.goal, project, out);

  const resolved: Partial<ResolvedCampaign> = {};

  const priority = get("priority");
  if (priority) {
    const v = priority.value.value;
    if (!Number.isInteger(v) || v < 0 || v > 100) out.push(diag(M.priorityRange, priority.value.span, [priority.value.raw]));
    else resolved.priority = v;
  }

  const holdout = get("holdout");
  if (holdout) {
    const v = holdout.value.value;
    if (!(v >= 0 && v <= 100)) out.push(diag(M.holdoutRange, holdout.value.span, [holdout.value.raw]));
    else resolved.holdout = v / 100;
  }

  const repeat = get("repeat");
  if (trigger?.kind === "business_event" && trigger.atMostOncePer) {
    // `at most once per D` is the event campaign's own rhythm: a member receives it again only D after the last.
    if (repeat) out.push(diag(M.eventOnceAndRepeat, repeat.span, [name]));
    else resolved.repeat = { kind: "after", duration: trigger.atMostOncePer };
  }
  if (repeat) {
    if (repeat.never || !repeat.after) resolved.repeat = { kind: "never" };
    else if (!(repeat.after.amount > 0)) out.push(diag(M.repeatNonPositive, repeat.after.span, [repeat.after.raw]));
    else resolved.repeat = { kind: "after", duration: { amount: repeat.after.amount, unit: repeat.after.unit } };
  }

  const active = get("active");
  if (active) {
    const from = checkDate(active.from, out);
    const to = checkDate(active.to, out);
    if (from && to) {
      if (to < from) out.push(diag(M.activeReversed, joinSpans(active.from.span, active.to.span), [from, to]));
      else resolved.active = { from, to };
    }
  }

  const window = get("send_window");
  if (window) {
    const start = checkTime(window.from, out);
    const end = checkTime(window.to, out);
    if (start !== undefined && end !== undefined) {
      if (start === end) out.push(diag(M.sendWindowEmpty, joinSpans(window.from.span, window.to.span), [formatMinutes(start)]));
      else resolved.sendWindow = { start, end };
    }
  }

  const limit = get("limit");
  if (limit) {
    const n = limit.count.value;
    const countOk = Number.isInteger(n) && n > 0;
    if (!countOk) out.push(diag(M.limitCount, limit.count.span, [limit.count.raw]));
    let orderBy: NonNullable<ResolvedCampaign["limit"]>["orderBy"];
    let orderOk = true;
    if (limit.orderBy) {
      const v = checkValue(limit.orderBy.expr, exprEnv);
      if (!v) orderOk = false;
      else if (!ORDERED.has(v.type.kind)) {
        out.push(diag(M.orderByType, limit.orderBy.expr.span, [operandText(limit.orderBy.expr, v.type)]));
        orderOk = false;
      } else orderBy = { value: v.value, direction: limit.orderBy.direction };
    }
    if (countOk && orderOk) resolved.limit = orderBy ? { count: n, orderBy } : { count: n };
  }

  const budget = get("budget");
  if (budget) {
    if (!(budget.amount.value > 0)) out.push(diag(M.budgetPositive, budget.amount.span, [budget.amount.raw]));
    else resolved.budget = budget.amount.value;
  }

  const expire = get("expire");
  if (expire) {
    const ms = durationMs(expire.after.amount, expire.after.unit);
    if (ms === undefined || !(ms > 0)) out.push(diag(M.expireNonPositive, expire.after.span, [expire.after.raw]));
    else resolved.expireAfterMs = ms;
  }

  if (trigger && triggerClause) {
    const at = triggerClause.trigger.at;
    timingWarnings(
      {
        time: trigger.time,
        timeSpan: at?.span ?? triggerClause.span,
        ...(project.policy.quietHours ? { quiet: project.policy.quietHours } : {}),
        ...(resolved.sendWindow && window ? { window: resolved.sendWindow, windowSpan: window.span } : {}),
        ...(goal && goalClause ? { goal: { within: goal.within, span: goalClause.goal.within.span, raw: goalClause.goal.within.raw } } : {}),
      },
      out,
    );
  }
  for (const d of out) if (!d.context && d.span.file === c.span.file) d.context = c.span;
  diagnostics.push(...out);
  if (out.some((d) => d.severity === "error")) return undefined;
  if (!templateOk || !audience || !trigger || !channels || !withValues || !contentClause) return undefined;

  const campaign: ResolvedCampaign = {
    name,
    file: c.span.file,
    span: c.span,
    audience,
    trigger,
    template: contentClause.template.value,
    with: withValues,
    channels,
    priority: resolved.priority ?? 50,
    holdout: resolved.holdout ?? 0,
    repeat: resolved.repeat ?? { kind: "per_occurrence" },
  };
  if (c.title) campaign.title = c.title.value;
  if (goal) campaign.goal = goal;
  if (resolved.active) campaign.active = resolved.active;
  if (resolved.sendWindow) campaign.sendWindow = resolved.sendWindow;
  if (resolved.limit) campaign.limit = resolved.limit;
  if (resolved.budget !== undefined) campaign.budget = resolved.budget;
  if (resolved.expireAfterMs !== undefined) campaign.expireAfterMs = resolved.expireAfterMs;
  return campaign;
}

/** A fixed-length duration in ms; months and years have no fixed length. */
function durationMs(amount: number, unit: string): number | undefined {
  const ms: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000 };
  return ms[unit] === undefined ? undefined : amount * ms[unit]!;
}

export function resolveGoal(g: Goal, project: Project, out: Diagnostic[]): ResolvedGoal | undefined {
  let ok = true;
  if (!(g.within.amount > 0)) {
    out.push(diag(M.goalWithinPositive, g.within.span, [g.within.raw]));
    ok = false;
  }
  let expect = project.assumptions[g.kind] ?? 0;
  if (g.expect) {
    if (!(g.expect.value >= 0 && g.expect.value <= 100)) {
      out.push(diag(M.expectRange, g.expect.span, [g.expect.raw]));
      ok = false;
    } else expect = g.expect.value / 100;
  }
  if (!ok) return undefined;
  const goal: ResolvedGoal = { kind: g.kind, within: { amount: g.within.amount, unit: g.within.unit }, expect };
  if (g.kind === "redeem") goal.code = g.code.value;
  else if (g.kind === "event") goal.code = g.name.value;
  else if (g.kind === "purchase" && g.minAmount) goal.minAmount = g.minAmount.value;
  return goal;
}
