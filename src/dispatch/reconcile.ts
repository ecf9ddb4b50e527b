/**
 * Reconciliation at the start of a run: sends a killed run left in flight, and WeCom tasks waiting for a staff
 * member, settled with the provider before anything new is sent.
 */
import type { QueuedRequest, SendOutcome } from "../drivers/types.js";
import type { SendInsert, SendResult, SendRow } from "../ledger/types.js";
import { nextFallback, toRequest } from "./requests.js";
import type { DispatchInput, DispatchSummary } from "./runner.js";
import { expireAfterMs } from "./send-time.js";

/**
 * Sends a killed run left in flight: the provider is asked (`reconcile`); what it confirms is settled, what it proves
 * never created is planned again, and the rest becomes `unknown` (never re-sent automatically).
 */
export async function reconcileInFlight(input: DispatchInput, summary: DispatchSummary, runId: number) {
  const rows = await input.ledger.inFlight();
  if (!rows.length) return;
  const byChannel = new Map<string, SendRow[]>();
  for (const r of rows) {
    let g = byChannel.get(r.channel);
    if (!g) byChannel.set(r.channel, (g = []));
    g.push(r);
  }
  let resolved = 0;
  let unknown = 0;
  const results: SendResult[] = [];
  const fallbacks: SendInsert[] = [];
  const campaignsByName = new Map(input.campaigns.map((c) => [c.name, c]));
  for (const [channel, group] of byChannel) {
    const loaded = input.channels.get(channel);
    let outcomes: (SendOutcome | undefined)[] = [];
    if (loaded?.instance.reconcile) {
      try {
        outcomes = await loaded.instance.reconcile(group.map((r) => toRequest(r)));
      } catch {
        outcomes = [];
      }
    }
    for (const [i, row] of group.entries()) {
      const o = outcomes[i];
      if (o?.status === "sent" || o?.status === "queued") {
        results.push({ key: row.key, state: o.status, provider_id: o.providerId ?? null });
        resolved++;
      } else if (o?.status === "failed" && (o.class === "retry" || o.class === "defer")) {
        // The provider proves it was never created: safe to send again.
        results.push({ key: row.key, state: "planned", error_code: o.code, error_message: o.message });
        resolved++;
      } else if (o?.status === "failed" && (o.class === "recipient" || o.class === "request")) {
        results.push({ key: row.key, state: "failed", error_code: o.code, error_message: o.message });
        resolved++;
        // As in a run: a member the provider refuses falls back to the next channel of the campaign.
        const next =
          o.class === "recipient"
            ? await nextFallback(row, campaignsByName.get(row.campaign), input.templates, input.project, input.now(), runId, input.ledger)
            : undefined;
        if (next) {
          fallbacks.push(next);
          summary.fallbacks++;
        }
      } else {
        results.push({
          key: row.key,
          state: "unknown",
          error_code: "in_flight_at_crash",
          error_message: "in flight when an earlier run stopped; the provider cannot confirm it",
        });
        unknown++;
      }
    }
  }
  await input.ledger.finish(results, input.now(), fallbacks);
  summary.unknown += unknown;
  summary.reconciled += resolved;
  input.onEvent?.({ type: "reconciled", resolved, unknown });
}

export /**
 * Every run asks the provider about sends `queued` in a staff member's task (get_groupmsg_task and
 * get_groupmsg_send_result): sent once confirmed; failed when the customer is not a contact (with fallback to the
 * next channel) or over the provider's cap. A task still unconfirmed when its sends expire (the run's moment past
 * planned time + expiry) is canceled, and its sends become `expired`: never sent, and not counted as delivered.
 */
async function reconcileQueued(input: DispatchInput, summary: DispatchSummary, runId: number, now: () => number) {
  const rows = await input.ledger.queued();
  if (!rows.length) return;
  const results: SendResult[] = [];
  const fallbacks: SendInsert[] = [];
  const campaignsByName = new Map(input.campaigns.map((c) => [c.name, c]));
  const tally = (summary.staff_tasks ??= { sent: 0, failed: 0, expired: 0, waiting: 0 });
  const byChannel = new Map<string, SendRow[]>();
  for (const r of rows) {
    let g = byChannel.get(r.channel);
    if (!g) byChannel.set(r.channel, (g = []));
    g.push(r);
  }
  for (const [channel, group] of byChannel) {
    const instance = input.channels.get(channel)?.instance;
    if (!instance?.poll) {
      tally.waiting += group.length;
      continue;
    }
    const requests: QueuedRequest[] = group.map((r) => ({ ...toRequest(r), providerId: r.provider_id ?? "" }));
    let outcomes: (SendOutcome | undefined)[] = [];
    try {
      outcomes = await instance.poll(requests);
    } catch {
      outcomes = [];
    }
    // Tasks whose every still-waiting send is past expiry: canceled as a whole (a task cannot be canceled in part).
    const waitingByTask = new Map<string, SendRow[]>();
    for (const [i, row] of group.entries()) {
      const o = outcomes[i];
      if (o?.status === "sent") {
        results.push({ key: row.key, state: "sent", provider_id: o.providerId ?? row.provider_id });
        tally.sent++;
      } else if (o?.status === "failed") {
        results.push({ key: row.key, state: "failed", error_code: o.code, error_message: o.message });
        tally.failed++;
        summary.failures[`${channel} ${o.code}`] = (summary.failures[`${channel} ${o.code}`] ?? 0) + 1;
        const next =
          o.class === "recipient"
            ? await nextFallback(row, campaignsByName.get(row.campaign), input.templates, input.project, now(), runId, input.ledger)
            : undefined;
        if (next) {
          fallbacks.push(next);
          summary.fallbacks++;
        }
      } else {
        const k = row.provider_id ?? "";
        const g = waitingByTask.get(k);
        if (g) g.push(row);
        else waitingByTask.set(k, [row]);
      }
    }
    for (const [msgid, waiting] of waitingByTask) {
      const due = waiting.every((r) => r.send_at + expireAfterMs(input.project, campaignsByName.get(r.campaign)) <= now());
      if (due && instance.cancel && msgid && (await instance.cancel(msgid).catch(() => false))) {
        for (const r of waiting) {
          results.push({
            key: r.key,
            state: "expired",
            error_code: "not_confirmed",
            error_message: `staff member ${r.sender ?? "?"} did not confirm the task in time; task canceled`,
          });
        }
        tally.expired += waiting.length;
        summary.expired += waiting.length;
      } else tally.waiting += waiting.length;
    }
  }
  await input.ledger.finish(results, now(), fallbacks);
  input.onEvent?.({ type: "staff", ...tally });
}
