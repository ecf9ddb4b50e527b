/** When a send of a campaign may go out: its expiry after the planned time, and quiet hours and its send window. */
import type { ResolvedCampaign } from "../resolved/types.js";
import { deferSendTime } from "../plan/defer.js";
import { DEFAULT_EXPIRE_AFTER_MS } from "../project/policy.js";
import type { Project } from "../project/types.js";

/** How long after its planned time a send of this campaign may still go out: `expire after`, else policy.expire_after. */
export function expireAfterMs(project: Project, campaign: ResolvedCampaign | undefined): number {
  return campaign?.expireAfterMs ?? project.policy.expireAfterMs ?? DEFAULT_EXPIRE_AFTER_MS;
}

/** The first moment at or after `t` when a send of this campaign may go out: outside quiet hours, inside its window. */
export function allowedAt(project: Project, campaign: ResolvedCampaign | undefined, t: number): number {
  return deferSendTime(t, project.timezone, project.policy.quietHours, campaign?.sendWindow);
}
