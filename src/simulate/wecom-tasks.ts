/**
 * WeCom mass messages become tasks a staff member confirms one by one in the WeCom client: one
 * `add_msg_template` per (staff member, identical message), at most 10,000 customers each. A section that reads
 * member fields (`{{name}}`) renders a different message per member, hence a task per member. This counts, from a
 * member-level plan, the tasks each staff member would get.
 */
import type { MemberDecision } from "../plan/types.js";
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

export function wecomTasks(decisions: readonly MemberDecision[], project: Project): WecomTaskCount[] {
  const wecom = new Set([...project.channels.values()].filter((c) => c.driver === "wecom").map((c) => c.name));
  // (campaign, channel, staff) → occurrence → message → sends. Occurrences go out in separate runs: separate tasks.
  const groups = new Map<string, Map<string, Map<string, number>>>();
  const json = new Map<object, string>();
  for (const d of decisions) {
    if (!d.channel || !wecom.has(d.channel) || !d.content) continue;
    const k = `${d.campaign}\u0000${d.channel}\u0000${d.sender ?? ""}`;
    let byOcc = groups.get(k);
    if (!byOcc) groups.set(k, (byOcc = new Map()));
    let messages = byOcc.get(d.occurrence);
    if (!messages) byOcc.set(d.occurrence, (messages = new Map()));
    let m = json.get(d.content);
    if (m === undefined) json.set(d.content, (m = JSON.stringify(d.content)));
    messages.set(m, (messages.get(m) ?? 0) + 1);
  }
  const out: WecomTaskCount[] = [];
  for (const [k, byOcc] of groups) {
    const [campaign, channel, staff] = k.split("\u0000") as [string, string, string];
    let sends = 0;
    let tasks = 0;
    for (const messages of byOcc.values()) {
      for (const n of messages.values()) {
        sends += n;
        tasks += Math.ceil(n / WECOM_MAX_IDS_PER_TASK);
      }
    }
    out.push({ campaign, channel, staff, sends, tasks });
  }
  return out.sort((a, b) => (a.campaign + a.channel + a.staff < b.campaign + b.channel + b.staff ? -1 : 1));
}
