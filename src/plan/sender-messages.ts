/**
 * Sends counted per (campaign, channel, sender, occurrence, identical message), for channels that send on behalf of
 * a member's own staff member (WeCom: one mass-message task per staff member and message). Counted by the walk for
 * campaigns rendered inline, and after the walk in DuckDB for the others, so a plain simulation never reads member
 * rows back to count tasks.
 */
import type { RenderedContent } from "../content/types.js";
import type { Project } from "../project/types.js";
import type { ResolvedCampaign } from "../resolved/types.js";
import type { SenderMessageCount } from "./types.js";

export class SenderMessageTally {
  private readonly counts = new Map<string, number>();
  /** Rendered content → its JSON, by identity: the walk's render cache hands out the same object for one message. */
  private readonly json = new Map<RenderedContent, string>();
  private readonly ids = new Map<string, number>();
  private readonly messages: string[] = [];

  add(campaign: string, channel: string, staff: string, occurrence: string, message: string, sends: number): void {
    let id = this.ids.get(message);
    if (id === undefined) {
      id = this.messages.push(message) - 1;
      this.ids.set(message, id);
    }
    const key = `${campaign}\u0000${channel}\u0000${staff}\u0000${occurrence}\u0000${id}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + sends);
  }

  addContent(campaign: string, channel: string, staff: string, occurrence: string, content: RenderedContent): void {
    let m = this.json.get(content);
    if (m === undefined) {
      m = JSON.stringify(content);
      this.json.set(content, m);
    }
    this.add(campaign, channel, staff, occurrence, m, 1);
  }

  result(): SenderMessageCount[] {
    return [...this.counts].map(([key, sends]) => {
      const [campaign, channel, staff, occurrence, id] = key.split("\u0000") as [string, string, string, string, string];
      return { campaign, channel, staff, occurrence, message: this.messages[Number(id)]!, sends };
    });
  }
}

/** Per channel of the campaign: the member field naming its sender, for channels that have one (else undefined). */
export function senderFieldsOf(campaign: ResolvedCampaign, project: Project): (string | undefined)[] {
  return campaign.channels.map((ch) => project.channels.get(ch)?.sender);
}
