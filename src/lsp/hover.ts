/** Hover: a field's type, a segment's expression, a channel's settings, a template's sections, a trigger's next occurrences. */
import type { Hover } from "vscode-languageserver/node";
import { describeEvent, eventDatesBetween } from "../calendar/events.js";
import { describeTrigger, expandOccurrences } from "../calendar/occurrences.js";
import { addDays, epochToZoned } from "../calendar/time.js";
import { printExpr } from "../language/index.js";
import { DRIVER_CONTENT_KIND, type BuiltinDriver, type FieldType, type Project } from "../project/types.js";
import { previewText, renderContent, type Template } from "../content/index.js";
import type { ResolvedCampaign } from "../resolved/types.js";
import type { Analysis, ParsedFile } from "./analysis.js";
import { segmentDecl, targetAt } from "./nodes.js";
import { toRange } from "./range.js";

/** How many occurrences a trigger's hover lists. */
const NEXT_OCCURRENCES = 5;
/** How far ahead they are looked for (a yearly event needs five years). */
const LOOK_AHEAD_DAYS = 366 * 6;

export function fieldTypeText(t: FieldType): string {
  return t.kind === "enum" ? `enum (${t.values.join(", ")})` : t.kind;
}

/** A member with made-up values of every field's type, for showing what a template renders to. */
function sampleMember(project: Project, today: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, t] of project.members.fields) {
    if (t.kind === "enum") out[name] = t.values[0];
    else if (t.kind === "number") out[name] = 100;
    else if (t.kind === "bool") out[name] = true;
    else if (t.kind === "date") out[name] = today;
    else if (t.kind === "datetime") out[name] = `${today} 10:00`;
    else if (t.kind === "phone") out[name] = "13800138000";
    else if (t.kind === "list") out[name] = [];
    else out[name] = "示例";
  }
  return out;
}

/** The template rendered for a sample member, for the campaign's first channel (with its `with` values). */
function renderedSample(tpl: Template, project: Project, campaign: ResolvedCampaign | undefined, now: number): string[] {
  // A section keyed by the channel's name wins over its driver's kind, as when sending.
  const channel = campaign?.channels.map((c) => project.channels.get(c)).find((c) => c !== undefined);
  const kind = channel && channel.driver in DRIVER_CONTENT_KIND ? DRIVER_CONTENT_KIND[channel.driver as BuiltinDriver] : undefined;
  const key = channel && tpl.sections.has(channel.name) ? channel.name : kind && tpl.sections.has(kind) ? kind : [...tpl.sections.keys()][0];
  if (!key) return [];
  const vars = { ...sampleMember(project, epochToZoned(now, project.timezone).date), ...(campaign?.with ?? {}) };
  const r = renderContent(tpl, key, vars);
  if (!r.content) return [];
  return [`rendered for a sample member (made-up values), ${key}:`, "```", previewText(r.content), "```"];
}

export function hover(a: Analysis, f: ParsedFile, offset: number, now: number): Hover | null {
  const t = targetAt(a, f.ast, offset);
  if (!t) return null;
  const project = a.project;
  const lines: string[] = [];
  switch (t.kind) {
    case "field": {
      const type = project?.members.fields.get(t.name);
      if (!type) return null;
      lines.push(`member field \`${t.name}\`: **${fieldTypeText(type)}**`);
      break;
    }
    case "segment": {
      const decl = segmentDecl(a, t.name);
      if (!decl) return null;
      lines.push("```chuda", `segment ${t.name} = ${printExpr(decl.expr)}`, "```", `defined in ${decl.span.file}:${decl.span.start.line}`);
      break;
    }
    case "channel": {
      const ch = project?.channels.get(t.name);
      if (!ch) return null;
      lines.push(`channel \`${t.name}\`: driver \`${ch.driver}\`, address \`${ch.address}\`${ch.consent ? `, consent \`${ch.consent}\`` : ""}`);
      if (ch.quota.length) lines.push(`quota: ${ch.quota.map((q) => q.text).join(", ")}`);
      break;
    }
    case "template": {
      const tpl = a.templates.get(t.name);
      if (!tpl) return null;
      lines.push(`template \`${t.name}\` (${tpl.file})`, `sections: ${[...tpl.sections.keys()].join(", ") || "none"}`);
      const vars = [...new Set(tpl.variables.map((v) => v.name))];
      if (vars.length) lines.push(`reads: ${vars.join(", ")}`);
      if (project)
        lines.push(
          ...renderedSample(
            tpl,
            project,
            a.check.campaigns.find((c) => c.name === t.campaign),
            now,
          ),
        );
      break;
    }
    case "event": {
      if (!project) return null;
      const today = epochToZoned(now, project.timezone).date;
      const dates = eventDatesBetween(t.name, today, addDays(today, LOOK_AHEAD_DAYS), project).slice(0, NEXT_OCCURRENCES);
      lines.push(`calendar event \`${describeEvent(t.name, project)}\``);
      if (dates.length) lines.push(`next: ${dates.join(", ")}`);
      break;
    }
    case "campaign": {
      const c = a.check.campaigns.find((x) => x.name === t.name);
      lines.push(`campaign \`${t.name}\`${t.decl.title ? ` "${t.decl.title.value}"` : ""}`);
      if (c) lines.push(`${describeTrigger(c.trigger)}; template \`${c.template}\`; channels ${c.channels.join(", ")}`);
      break;
    }
    case "trigger": {
      const c = a.check.campaigns.find((x) => x.name === t.campaign.name.name);
      if (!project || !c) {
        lines.push("fix this campaign's errors to see when it fires");
        break;
      }
      const today = epochToZoned(now, project.timezone).date;
      lines.push(`**${describeTrigger(c.trigger)}**`);
      if (c.trigger.kind === "member_date") lines.push("fires each day for the members whose date matches");
      else {
        const next = expandOccurrences(c, project, today, addDays(today, LOOK_AHEAD_DAYS))
          .filter((o) => o.at >= now)
          .slice(0, NEXT_OCCURRENCES);
        if (next.length === 0) lines.push("no occurrence ahead");
        else lines.push("next occurrences:", ...next.map((o) => `- ${o.date} ${o.time}${o.event && o.event !== "every day" ? ` (${o.event})` : ""}`));
      }
      break;
    }
  }
  return { contents: { kind: "markdown", value: lines.join("\n") }, range: toRange(t.span, f.text) };
}
