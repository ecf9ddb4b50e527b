/**
 * WeCom mass messages become tasks a staff member confirms one by one in the WeCom client: one
 * `add_msg_template` per (staff member, identical message), at most 10,000 customers each. A section that reads
 * member fields (`{{name}}`) renders a different message per member, hence a task per member. This counts, from the
 * planner's sends per staff member and identical message, the tasks each staff member would get.
 */
import type { SenderMessageCount } from "../plan/types.js";
import type { Project } from "../project/types.js";

/** Customers one `add_msg_template` call may carry (external_userid). */
export const WECOM_MAX_IDS_PER_TASK = 10_000;

export interface WecomTaskCount {
  campaign: string;
  channel: string;
  staff: string;
  sends: number;
  /** add_msg_template tasks the staff member has to confirm. */
  tasks: number;
}

export function wecomTasks(counts: readonly SenderMessageCount[], project: Project): WecomTaskCount[] {
  const wecom = new Set([...project.channels.values()].filter((c) => c.driver === "wecom").map((c) => c.name));
  // (campaign, channel, staff) → sends and tasks. Occurrences go out in separate runs, so each (occurrence, message)
  // is its own task, split at 10,000 customers.
  const groups = new Map<string, { sends: number; tasks: number }>();
  for (const c of counts) {
    if (!wecom.has(c.channel)) continue;
    const k = `${c.campaign}\u0000${c.channel}\u0000${c.staff}`;
    const g = groups.get(k) ?? { sends: 0, tasks: 0 };
    g.sends += c.sends;
    g.tasks += Math.ceil(c.sends / WECOM_MAX_IDS_PER_TASK);
    groups.set(k, g);
  }
  const out: WecomTaskCount[] = [];
  for (const [k, g] of groups) {
    const [campaign, channel, staff] = k.split("\u0000") as [string, string, string];
    out.push({ campaign, channel, staff, ...g });
  }
  return out.sort((a, b) => (a.campaign + a.channel + a.staff < b.campaign + b.channel + b.staff ? -1 : 1));
}
