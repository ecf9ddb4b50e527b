/** Pulls receipts for a project's channels and records them in the ledger (`chuda receipts pull`, end of dispatch). */
import type { Ledger } from "../ledger/types.js";
import type { ReceiptOutcome } from "../dispatch/delivery.js";
import type { Project } from "../project/types.js";
import { PULLERS, pullContext, type UnconfirmedSend } from "./pull.js";

/** Sends older than this are not asked about: the providers keep send details for 30 days at most. */
const PULL_WINDOW_MS = 30 * 86_400_000;

export interface PullSummary {
  channel: string;
  /** Sends without a final receipt that were asked about. */
  asked: number;
  delivered: number;
  failed: number;
  /** Receipts the provider had that matched no send (another system's sends on the same account). */
  unmatched: number;
}

/** The channels that can be pulled: built-in drivers with a pull API (all of them, or those named). */
export function pullableChannels(project: Project, only?: string[]): string[] {
  return [...project.channels.values()].filter((c) => PULLERS[c.driver] && (!only?.length || only.includes(c.name))).map((c) => c.name);
}

export async function pullReceipts(
  project: Project,
  ledger: Ledger,
  env: Record<string, string | undefined>,
  now: () => number,
  channels: string[],
): Promise<PullSummary[]> {
  const out: PullSummary[] = [];
  for (const name of channels) {
    const ch = project.channels.get(name)!;
    const secrets: Record<string, string> = {};
    for (const [k, v] of Object.entries(ch.env)) if (env[v]) secrets[k] = env[v]!;
    const sends: UnconfirmedSend[] = await ledger.unconfirmedSends(name, now() - PULL_WINDOW_MS);
    const summary: PullSummary = { channel: name, asked: sends.length, delivered: 0, failed: 0, unmatched: 0 };
    out.push(summary);
    if (!sends.length && ch.driver !== "tencent-sms") continue;
    // Request signatures carry the wall clock (a pinned CHUDA_NOW only moves the window), as the drivers' calls do.
    const ctx = pullContext(name, secrets, ch.baseUrl, ch.options, () => Date.now());
    try {
      const receipts = await PULLERS[ch.driver]!(ctx, sends);
      const outcomes: ReceiptOutcome[] = await ledger.recordReceipts(receipts, now());
      receipts.forEach((r, i) => {
        if (outcomes[i] === "unknown") summary.unmatched++;
        else if (outcomes[i] === "applied" || outcomes[i] === "pending") summary[r.state]++;
      });
    } finally {
      ctx.http.close();
    }
  }
  return out;
}
