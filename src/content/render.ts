/**
 * Renders a template section for one member into the RenderedContent a driver receives, and checks it with the
 * channel's per-message rules. Called once per member and channel: each section is turned into a closure
 * over compiled Handlebars functions once (cached per section), so a render is a few function calls.
 */
import { format } from "../diagnostics/types.js";
import { contentMessages as M } from "../diagnostics/messages/content.js";
import { compileField } from "./helpers.js";
import { asText, isRecord, type ContentProblem } from "./rules/common.js";
import { checkRendered } from "./rules/index.js";
import { fillBody } from "./rules/sms.js";
import { LINKS_KEY, NO_PUBLIC_URL, TRACK_STATE, usesTrack, type TrackState } from "./track.js";
import { attachmentSources } from "./rules/wecom.js";
import type { RenderedContent, SubscribeMessageContent, Template, TemplateMessageContent, TemplateSection, WecomAttachment } from "./types.js";

export interface RenderResult {
  /** Absent when the template has no section for the kind or a field cannot be rendered. */
  content?: RenderedContent;
  /** Problems of this rendering: errors mean the provider would reject the message. */
  problems: ContentProblem[];
}

type Vars = Record<string, unknown>;
/** Renders one field; pushes to `problems` and returns undefined when it cannot. */
type FieldFn = (vars: Vars, problems: ContentProblem[]) => string | undefined;
type SectionFn = (vars: Vars, problems: ContentProblem[]) => RenderedContent | undefined;

const PLANS = new WeakMap<TemplateSection, SectionFn>();
/** Whether each section calls `{{track}}`. */
const TRACKS = new WeakMap<TemplateSection, boolean>();

/**
 * Renders `template`'s section for `kind` with `vars` (member fields plus the campaign's `with` values). Member
 * values are data: they are inserted, never compiled.
 */
export function renderContent(template: Template, kind: string, vars: Record<string, unknown>): RenderResult {
  const section = template.sections.get(kind);
  if (!section) {
    return {
      problems: [
        {
          rule: "template.section.missing",
          severity: "error",
          field: "",
          message: format(M.contentMissingSection.message, [template.name, kind, `a channel with ${kind} content`]),
        },
      ],
    };
  }
  let plan = PLANS.get(section);
  if (!plan) PLANS.set(section, (plan = planSection(section)));
  const problems: ContentProblem[] = [];
  let tracked = TRACKS.get(section);
  if (tracked === undefined) TRACKS.set(section, (tracked = usesTrack(section.raw)));
  const track: TrackState | undefined = tracked ? { base: template.trackBase ?? NO_PUBLIC_URL, links: [] } : undefined;
  const content = plan(track ? { ...vars, [TRACK_STATE]: track } : vars, problems);
  if (!content) return { problems };
  const rules = checkRendered(content);
  if (track?.links.length) (content as unknown as Record<string, unknown>)[LINKS_KEY] = track.links;
  return { content, problems: problems.length ? problems.concat(rules) : rules };
}

// ------------------------------------------------------------------------------------------------ fields

function field(v: unknown, name: string): FieldFn | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") {
    const s = asText(v) ?? JSON.stringify(v);
    return () => s;
  }
  const c = compileField(v);
  if (c.error !== undefined) {
    const message = format(M.contentHandlebarsSyntax.message, [name, c.error.split("\n").pop() ?? c.error]);
    return (_vars, problems) => {
      problems.push({ rule: "handlebars.syntax", severity: "error", field: name, message });
      return undefined;
    };
  }
  const fn = c.fn!;
  return (vars, problems) => {
    try {
      return fn(vars);
    } catch (e) {
      problems.push({ rule: "render.error", severity: "error", field: name, message: `\`${name}\` cannot be rendered: ${(e as Error).message}` });
      return undefined;
    }
  };
}

/** A mapping of fields (`data`, `params`, a link object), rendered in key order; undefined if one fails. */
function fields(raw: unknown, prefix: string): (vars: Vars, problems: ContentProblem[]) => Record<string, string> | undefined {
  const entries = isRecord(raw) ? Object.entries(raw).map(([k, v]) => [k, field(v, `${prefix}${k}`)] as const) : [];
  return (vars, problems) => {
    const out: Record<string, string> = {};
    let ok = true;
    for (const [k, fn] of entries) {
      if (!fn) continue;
      const s = fn(vars, problems);
      if (s === undefined) ok = false;
      else out[k] = s;
    }
    return ok ? out : undefined;
  };
}

/** Renders an optional field: [ok, value]. */
function opt(fn: FieldFn | undefined, vars: Vars, problems: ContentProblem[]): [boolean, string | undefined] {
  if (!fn) return [true, undefined];
  const s = fn(vars, problems);
  return [s !== undefined, s];
}

// ------------------------------------------------------------------------------------------------ sections

function planSection(section: TemplateSection): SectionFn {
  const raw = section.raw ?? {};
  switch (section.kind) {
    case "wecom":
      return planWecom(raw);
    case "sms":
      return planSms(raw);
    case "template_message":
      return planTemplateMessage(raw);
    case "subscribe_message":
      return planSubscribe(raw);
    case "webhook":
    case "file": {
      const kind = section.kind;
      const body = planJson(raw, "");
      return (vars, problems) => {
        let ok = true;
        const b = body(vars, problems, () => (ok = false)) as Record<string, unknown>;
        return ok ? ({ kind, body: b } as RenderedContent) : undefined;
      };
    }
  }
}

function planWecom(raw: Record<string, unknown>): SectionFn {
  const text = field(raw.text, "text");
  const atts = attachmentSources(raw).map((a) => {
    const msgtype = field(a.msgtype, `${a.path}.msgtype`);
    const obj = fields(a.obj, `${a.objPath}.`);
    return { msgtype, obj };
  });
  return (vars, problems) => {
    const [ok, t] = opt(text, vars, problems);
    let good = ok;
    const attachments: WecomAttachment[] = [];
    for (const a of atts) {
      const mt = a.msgtype ? a.msgtype(vars, problems) : "";
      const o = a.obj(vars, problems);
      if (mt === undefined || o === undefined) {
        good = false;
        continue;
      }
      attachments.push((mt ? { msgtype: mt, [mt]: o } : { msgtype: mt }) as unknown as WecomAttachment);
    }
    if (!good) return undefined;
    const c: RenderedContent = { kind: "wecom", attachments };
    if (t !== undefined && t !== "") c.text = t;
    return c;
  };
}

function planSms(raw: Record<string, unknown>): SectionFn {
  const sign = field(raw.sign, "sign");
  const code = field(raw.code, "code");
  const params = fields(raw.params, "params.");
  const body = asText(raw.body) ?? "";
  return (vars, problems) => {
    const [ok1, s] = opt(sign, vars, problems);
    const [ok2, c] = opt(code, vars, problems);
    const p = params(vars, problems);
    if (!ok1 || !ok2 || !p) return undefined;
    return { kind: "sms", sign: s ?? "", code: c ?? "", params: p, text: fillBody(body, p) };
  };
}

function planTemplateMessage(raw: Record<string, unknown>): SectionFn {
  const id = field(raw.template_id, "template_id");
  const url = field(raw.url, "url");
  const mp = raw.miniprogram === undefined || raw.miniprogram === null ? undefined : fields(raw.miniprogram, "miniprogram.");
  const data = fields(raw.data, "data.");
  return (vars, problems) => {
    const [ok1, t] = opt(id, vars, problems);
    const [ok2, u] = opt(url, vars, problems);
    const m = mp ? mp(vars, problems) : undefined;
    const d = data(vars, problems);
    if (!ok1 || !ok2 || (mp && !m) || !d) return undefined;
    const c = { kind: "template_message", template_id: t ?? "" } as TemplateMessageContent;
    if (u !== undefined) c.url = u;
    if (m) c.miniprogram = { appid: m.appid ?? "", pagepath: m.pagepath ?? "" };
    c.data = d;
    return c;
  };
}

function planSubscribe(raw: Record<string, unknown>): SectionFn {
  const id = field(raw.template_id, "template_id");
  const page = field(raw.page, "page");
  const state = field(raw.miniprogram_state, "miniprogram_state");
  const lang = field(raw.lang, "lang");
  const data = fields(raw.data, "data.");
  return (vars, problems) => {
    const [ok1, t] = opt(id, vars, problems);
    const [ok2, p] = opt(page, vars, problems);
    const [ok3, s] = opt(state, vars, problems);
    const [ok4, l] = opt(lang, vars, problems);
    const d = data(vars, problems);
    if (!ok1 || !ok2 || !ok3 || !ok4 || !d) return undefined;
    const c = { kind: "subscribe_message", template_id: t ?? "" } as SubscribeMessageContent;
    if (p !== undefined) c.page = p;
    // The rules report a value outside the allowed set; the content keeps what was written.
    if (s !== undefined) c.miniprogram_state = s as SubscribeMessageContent["miniprogram_state"];
    if (l !== undefined) c.lang = l as SubscribeMessageContent["lang"];
    c.data = d;
    return c;
  };
}

type JsonFn = (vars: Vars, problems: ContentProblem[], fail: () => void) => unknown;

/** Webhook and file bodies: any JSON; strings are Handlebars (rendered to strings), other values are copied. */
function planJson(v: unknown, p: string): JsonFn {
  if (typeof v === "string") {
    const fn = field(v, p || "body")!;
    return (vars, problems, fail) => {
      const s = fn(vars, problems);
      if (s === undefined) fail();
      return s ?? "";
    };
  }
  if (Array.isArray(v)) {
    const items = v.map((x, i) => planJson(x, p ? `${p}.${i}` : String(i)));
    return (vars, problems, fail) => items.map((f) => f(vars, problems, fail));
  }
  if (isRecord(v)) {
    const entries = Object.entries(v).map(([k, x]) => [k, planJson(x, p ? `${p}.${k}` : k)] as const);
    return (vars, problems, fail) => {
      const out: Record<string, unknown> = {};
      for (const [k, f] of entries) out[k] = f(vars, problems, fail);
      return out;
    };
  }
  return () => v;
}
