/**
 * Test sends before a launch: a campaign's message rendered for each person on a staff list (a member-format
 * snapshot) and sent for real on the campaign's channels. Recorded in the ledger's `test_sends` table, never in
 * `sends`: a test uses up no occurrence and no report, cap or quota ever counts it.
 */
import type { ResolvedCampaign } from "../resolved/types.js";
import { renderContent } from "../content/index.js";
import type { Template } from "../content/types.js";
import { zonedId } from "../calendar/time.js";
import type { SendOutcome, SendRequest } from "../drivers/types.js";
import { contentKindOf } from "../plan/plan.js";
import type { Project } from "../project/types.js";
import type { Ledger } from "../ledger/types.js";
import { dedupeId } from "./requests.js";
import type { LoadedChannel } from "./runner.js";

export interface TestSendResult {
  member: string;
  channel: string;
  state: "sent" | "queued" | "failed" | "skipped";
  code?: string;
  message?: string;
}

export interface TestSendInput {
  project: Project;
  campaign: ResolvedCampaign;
  templates: Map<string, Template>;
  /** Each staff member's key and field values (as the planner reads them), in the file's order. */
  staff: { member: string; fields: Record<string, unknown> }[];
  channels: Map<string, LoadedChannel>;
  ledger: Ledger;
  now: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Sends the campaign's message to every staff member on every channel of the campaign they have an address for. */
export async function sendTests(input: TestSendInput): Promise<TestSendResult[]> {
  const { project, campaign } = input;
  const sleep = input.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
  const template = input.templates.get(campaign.template);
  const out: TestSendResult[] = [];
  const started = input.now();
  // An occurrence id of its own (the moment of the test), so that a provider's idempotency never confuses a test
  // with the campaign's real send, nor one test with the next.
  const occurrence = zonedId(started, project.timezone);
  for (const person of input.staff) {
    const vars: Record<string, unknown> = { ...campaign.with, ...person.fields };
    for (const channel of campaign.channels) {
      const cfg = project.channels.get(channel)!;
      const address = vars[cfg.address];
      const record = async (r: TestSendResult, providerId?: string | null) => {
        out.push(r);
        await input.ledger.recordTestSend({
          campaign: campaign.name,
          member: person.member,
          channel,
          address: address == null ? null : String(address),
          state: r.state,
          provider_id: providerId ?? null,
          error_code: r.code ?? null,
          error_message: r.message ?? null,
          at: input.now(),
        });
      };
      if (address === undefined || address === null || address === "" || address === false) {
        await record({ member: person.member, channel, state: "skipped", code: "no_address", message: `no ${cfg.address} in the staff list` });
        continue;
      }
      const kind = contentKindOf(project, channel);
      const rendered = template && kind ? renderContent(template, kind, vars) : undefined;
      const errors = rendered?.problems.filter((p) => p.severity === "error") ?? [];
      if (!rendered?.content || errors.length) {
        await record({
          member: person.member,
          channel,
          state: "failed",
          code: "content_refused",
          message: errors.map((p) => `${p.field}: ${p.message}`).join("; ") || `template ${campaign.template} has no section for this channel`,
        });
        continue;
      }
      const key = `test|${campaign.name}|${occurrence}|${person.member}|${channel}`;
      const request: SendRequest = {
        key,
        dedupeId: dedupeId(key),
        campaign: campaign.name,
        occurrence,
        member: person.member,
        channel,
        address: String(address),
        content: rendered.content,
      };
      if (cfg.sender && vars[cfg.sender] != null) request.sender = String(vars[cfg.sender]);
      const loaded = input.channels.get(channel)!;
      let outcome: SendOutcome | undefined;
      // A transient failure is tried again a few times; a test is never left pending for a later run.
      for (let attempt = 1; attempt <= 3; attempt++) {
        try {
          outcome = (await loaded.instance.send([request]))[0];
        } catch (e) {
          outcome = { status: "failed", class: "ambiguous", code: "driver_error", message: (e as Error).message };
        }
        if (!(outcome?.status === "failed" && (outcome.class === "retry" || outcome.class === "refresh" || outcome.class === "defer")) || attempt === 3) break;
        await sleep(500 * attempt);
      }
      if (outcome?.status === "sent" || outcome?.status === "queued")
        await record({ member: person.member, channel, state: outcome.status }, outcome.providerId);
      else
        await record({
          member: person.member,
          channel,
          state: "failed",
          code: outcome?.code ?? "no_outcome",
          message: outcome?.message ?? "driver returned no outcome",
        });
    }
  }
  return out;
}
