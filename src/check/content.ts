/**
 * The `channel` and `content` clauses: channels exist in chuda.yaml and appear once; the template exists, and
 * the content layer checks it against the channels' driver kinds and the variables a member render has.
 */
import type { ChannelClause, ContentClause } from "../language/ast.js";
import { BUILTIN_DRIVERS, DRIVER_CONTENT_KIND, type BuiltinDriver, type ContentKind, type Project } from "../project/types.js";
import type { Template } from "../content/types.js";
import { checkTemplateUse } from "../content/index.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { diag } from "../diagnostics/diag.js";
import { didYouMean } from "../diagnostics/suggest.js";
import { checkMessages as M } from "../diagnostics/messages/check.js";
import { checkDate, checkDateTime, checkTime, formatMinutes } from "./literals.js";

const BUILTIN = new Set<string>(BUILTIN_DRIVERS);
/** Template helpers: `{{date}}` in a template calls the helper, so a `with` value of that name could never be read. */
const HELPER_NAMES = new Set(["date", "yuan", "mask", "truncate", "default", "lookup"]);

/** Channel names in order, or undefined after reporting unknown or repeated ones. */
export function resolveChannels(c: ChannelClause, project: Project, out: Diagnostic[]): string[] | undefined {
  const seen = new Map<string, ChannelClause["channels"][number]>();
  let ok = true;
  for (const ch of c.channels) {
    if (!project.channels.has(ch.name)) {
      const names = [...project.channels.keys()];
      const help = didYouMean(ch.name, names) ?? (names.length ? `channels in chuda.yaml: ${names.join(", ")}` : "chuda.yaml defines no channels");
      out.push(diag(M.unknownChannel, ch.span, [ch.name], { help }));
      ok = false;
      continue;
    }
    const first = seen.get(ch.name);
    if (first) {
      out.push(diag(M.duplicateChannel, ch.span, [ch.name], { related: [{ span: first.span, message: `\`${ch.name}\` is first listed here` }] }));
      ok = false;
      continue;
    }
    seen.set(ch.name, ch);
  }
  return ok ? [...seen.keys()] : undefined;
}

/**
 * `with` values as plain data: strings, numbers, bools; money → yuan; percent → its text (`20%`, as the
 * template shows it); date → "YYYY-MM-DD"; datetime → "YYYY-MM-DD HH:MM"; time → "HH:MM"; duration → its text.
 */
export function resolveWith(c: ContentClause, out: Diagnostic[]): Record<string, string | number | boolean> | undefined {
  const values: Record<string, string | number | boolean> = {};
  const seen = new Map<string, ContentClause["with"][number]>();
  let ok = true;
  for (const entry of c.with) {
    const key = entry.key.name;
    const first = seen.get(key);
    if (first) {
      out.push(diag(M.duplicateWithKey, entry.key.span, [key], { related: [{ span: first.key.span, message: `\`${key}\` is first given here` }] }));
      ok = false;
      continue;
    }
    seen.set(key, entry);
    if (HELPER_NAMES.has(key)) {
      out.push(diag(M.withKeyIsHelper, entry.key.span, [key]));
      ok = false;
      continue;
    }
    const v = entry.value;
    switch (v.kind) {
      case "string":
      case "number":
      case "money":
      case "bool":
        values[key] = v.value;
        break;
      case "percent":
      case "duration":
        values[key] = v.raw;
        break;
      case "date": {
        const d = checkDate(v, out);
        if (d === undefined) ok = false;
        else values[key] = d;
        break;
      }
      case "datetime": {
        const dt = checkDateTime(v, out);
        if (!dt) ok = false;
        else values[key] = `${dt.date} ${formatMinutes(dt.time)}`;
        break;
      }
      case "time": {
        const t = checkTime(v, out);
        if (t === undefined) ok = false;
        else values[key] = formatMinutes(t);
        break;
      }
      case "list":
        out.push(diag(M.withValueKind, v.span, ["a list"]));
        ok = false;
        break;
    }
  }
  return ok ? values : undefined;
}

/** Diagnostics about template files, shared by all campaigns of one check (each is reported once). */
export type TemplateDiagnostics = Map<string, Diagnostic>;

/**
 * The template named by the content clause, checked for the listed channels (unknown names are skipped).
 * Diagnostics in the campaign's own file go to `out`. Those pointing into the template file are reported once
 * per check (`seen`), each naming the campaigns that use the template there (`related`).
 * Returns whether the template is usable by this campaign (exists, and no errors).
 */
export function resolveTemplate(
  c: ContentClause,
  campaign: string,
  channels: readonly string[],
  withKeys: Iterable<string>,
  project: Project,
  templates: ReadonlyMap<string, Template>,
  seen: TemplateDiagnostics,
  out: Diagnostic[],
): boolean {
  const name = c.template.value;
  const template = templates.get(name);
  if (!template) {
    const names = [...templates.keys()];
    const help = didYouMean(name, names) ?? (names.length ? `templates: ${names.sort().join(", ")}` : "create templates/" + name + ".yaml");
    out.push(diag(M.unknownTemplate, c.template.span, [name], { help }));
    return false;
  }
  // A template that is not valid YAML is reported once by the loader; checking its use would only cascade.
  if (template.failed) return false;
  const variables = new Set<string>([...project.members.fields.keys(), ...withKeys]);
  const uses = channelUses(channels, project);
  const found = checkTemplateUse(template, { kinds: uses.map((u) => u.kind), variables, span: c.span, channels: uses });
  let ok = true;
  for (const d of found) {
    if (d.severity === "error") ok = false;
    if (d.span.file === c.span.file) {
      out.push(d);
      continue;
    }
    const key = `${d.code}|${d.span.file}|${d.span.start.offset}|${d.span.start.line}|${d.span.start.column}|${d.message}`;
    const usedBy = { span: c.span, message: `template \`${name}\` is used by campaign \`${campaign}\` here` };
    const first = seen.get(key);
    if (first) {
      if ((first.related?.length ?? 0) < 5) (first.related ??= []).push(usedBy);
      continue;
    }
    d.related = [...(d.related ?? []), usedBy];
    seen.set(key, d);
    out.push(d);
  }
  return ok;
}

/** The listed channels with a built-in driver, and the template section each reads. */
function channelUses(channels: readonly string[], project: Project): { name: string; driver: string; kind: ContentKind }[] {
  const uses: { name: string; driver: string; kind: ContentKind }[] = [];
  for (const name of channels) {
    const driver = project.channels.get(name)?.driver;
    if (driver && BUILTIN.has(driver)) uses.push({ name, driver, kind: DRIVER_CONTENT_KIND[driver as BuiltinDriver] });
  }
  return uses;
}
