/**
 * Which member fields a simulation reads only for their presence: a channel's address or sender tells whether
 * a member can be reached, and nothing in the campaigns reads its text. The snapshot then keeps a mark instead
 * of the text (ids of 20–30 characters for ten million members are a quarter of the load's time and memory).
 */
import type { ResolvedCampaign } from "../resolved/types.js";
import type { Template } from "../content/types.js";
import type { Project } from "../project/types.js";

/**
 * Address and sender fields of the project's channels whose name appears in no string of the selected campaigns
 * (audience, trigger, limit order, `with`…), of their templates (any section, any text), of `policy.exclude` or of
 * the conversions mapping, and that are not the member key or a distance field. Conservative by design: a field
 * named anywhere, even inside a longer text, is kept whole.
 */
export function presenceOnlyFields(project: Project, campaigns: ResolvedCampaign[], templates: Map<string, Template>, exclude?: unknown): string[] {
  const texts: string[] = [project.members.key];
  const d = project.members.distance;
  if (d?.kind === "field") texts.push(d.field);
  if (d?.kind === "point") texts.push(d.lon, d.lat);
  const seen = new Set<object>();
  const walk = (x: unknown): void => {
    if (typeof x === "string") texts.push(x);
    else if (x && typeof x === "object" && !seen.has(x)) {
      seen.add(x);
      if (x instanceof Map) x.forEach((v, k) => (walk(k), walk(v)));
      else if (Array.isArray(x)) x.forEach(walk);
      else for (const [k, v] of Object.entries(x)) if (k !== "span" && k !== "spans") walk(v);
    }
  };
  walk(exclude);
  walk(project.conversions);
  for (const c of campaigns) {
    const t = templates.get(c.template);
    if (!t) return []; // a template we cannot see might read anything
    walk({ ...c, name: "", title: "", file: "", template: "", channels: [] });
    walk(t);
  }
  const out = new Set<string>();
  for (const ch of project.channels.values()) {
    for (const f of [ch.address, ch.sender]) {
      const kind = f ? project.members.fields.get(f)?.kind : undefined;
      if (f && (kind === "string" || kind === "phone") && !texts.some((t) => t.includes(f))) out.add(f);
    }
  }
  return [...out];
}
