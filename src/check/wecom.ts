/**
 * A WeCom section that reads member fields (`{{name}}`) renders a different message per member: each becomes its
 * own add_msg_template task, which the staff member confirms one by one in the WeCom client. `chuda validate`
 * warns about it, once per template section, naming the campaigns that use it. The sending staff member's own
 * field is the same for all of their customers, so it does not split a task.
 */
import type { Project } from "../project/types.js";
import type { Template } from "../content/types.js";
import type { ResolvedCampaign } from "../resolved/types.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { diag } from "../diagnostics/diag.js";
import { checkMessages as M } from "../diagnostics/messages/check.js";

export function perMemberWecomWarnings(campaigns: readonly ResolvedCampaign[], project: Project, templates: ReadonlyMap<string, Template>): Diagnostic[] {
  const bySection = new Map<string, Diagnostic>();
  for (const c of campaigns) {
    const template = templates.get(c.template);
    if (!template) continue;
    for (const ch of c.channels) {
      const cfg = project.channels.get(ch);
      if (cfg?.driver !== "wecom") continue;
      const key = template.sections.get(ch)?.kind === "wecom" ? ch : "wecom";
      if (!template.sections.has(key)) continue;
      // An enum or bool field has a few values: a few tasks per staff member, not one per member.
      const perMember = (name: string) => {
        const t = project.members.fields.get(name);
        return t !== undefined && t.kind !== "enum" && t.kind !== "bool" && !(name in c.with) && name !== cfg.sender;
      };
      const reads = template.variables.filter((v) => v.kind === key && perMember(v.name));
      if (!reads.length) continue;
      const id = `${template.name}\u0000${key}`;
      const usedBy = { span: c.span, message: `campaign \`${c.name}\` sends it on channel \`${ch}\`` };
      const prev = bySection.get(id);
      if (prev) {
        if ((prev.related?.length ?? 0) < 5 && !prev.related?.some((r) => r.message === usedBy.message)) (prev.related ??= []).push(usedBy);
        continue;
      }
      const names = [...new Set(reads.map((v) => `\`${v.name}\``))].join(", ");
      const d = diag(M.wecomPerMember, reads[0]!.span, [template.name, key, names]);
      d.related = [usedBy];
      bySection.set(id, d);
    }
  }
  return [...bySection.values()];
}
