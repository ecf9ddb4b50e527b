/** The provider requests of sends, and the fallback send after a permanent failure: shared by sending and reconciling. */
import * as crypto from "node:crypto";
import type { ResolvedCampaign } from "../resolved/types.js";
import type { RenderedContent, Template } from "../content/types.js";
import { renderContent } from "../content/index.js";
import type { SendRequest } from "../drivers/types.js";
import { sectionKeyOf } from "../plan/content.js";
import type { Project } from "../project/types.js";
import type { DueSend, Ledger, SendInsert, SendRow } from "../ledger/types.js";
import { bindLinks, LINKS_KEY } from "../content/track.js";
import { sendKey } from "./ledger.js";

// crypto.hash (Node 20.12 and later) hashes in one call, a third of the time of createHash for a key this short.
// (Node 20 before 20.12 has no crypto.hash: createHash there.)
const sha256Hex: (s: string) => string =
  typeof (crypto as Partial<typeof crypto>).hash === "function"
    ? (s) => crypto.hash("sha256", s, "hex")
    : (s) => crypto.createHash("sha256").update(s).digest("hex");

export const dedupeId = (key: string) => sha256Hex(key).slice(0, 32);

export /** The provider request of a send. `parsed` caches parsed content by its JSON (sends of one message share it). */
function toRequest(r: DueSend | SendRow, parsed?: Map<string, RenderedContent>): SendRequest {
  let content: RenderedContent | undefined;
  if (r.content !== null && parsed) {
    content = parsed.get(r.content);
    if (content === undefined) parsed.set(r.content, (content = JSON.parse(r.content) as RenderedContent));
  } else content = JSON.parse(r.content ?? "null") as RenderedContent;
  const req: SendRequest = {
    key: r.key,
    dedupeId: dedupeId(r.key),
    campaign: r.campaign,
    occurrence: r.occurrence,
    member: r.member,
    channel: r.channel,
    address: r.address ?? "",
    content: content!,
  };
  if (r.sender) req.sender = r.sender;
  if (r.first_attempt_at) req.firstAttemptAt = r.first_attempt_at;
  return req;
}

export /** Batches of at most `size`; drivers that send one body to many recipients get batches of identical content. */
function makeBatches<R extends { sender: string | null; content: string | null }>(rows: R[], size: number, sameContent: boolean): R[][] {
  if (!sameContent) {
    const out: R[][] = [];
    for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
    return out;
  }
  const groups = new Map<string, R[]>();
  for (const r of rows) {
    const k = `${r.sender ?? ""}\u0000${r.content ?? ""}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(r);
  }
  const out: R[][] = [];
  for (const g of groups.values()) for (let i = 0; i < g.length; i += size) out.push(g.slice(i, i + size));
  return out;
}

export /**
 * After a permanent recipient failure (or a stopped channel's failover), the member falls back to the next reachable
 * channel of the campaign. The content is rendered here, so its tracked links get the fallback send's own ids
 * (committed before the send is).
 */
async function nextFallback(
  row: SendRow,
  campaign: ResolvedCampaign | undefined,
  templates: Map<string, Template>,
  project: Project,
  now: number,
  runId: number,
  ledger: Pick<Ledger, "linkSecret" | "insertLinks">,
): Promise<SendInsert | undefined> {
  if (!campaign || !row.fallbacks) return undefined;
  const rest = JSON.parse(row.fallbacks) as string[];
  const vars = JSON.parse(row.vars ?? "{}") as Record<string, unknown>;
  while (rest.length) {
    const channel = rest.shift()!;
    const cfg = project.channels.get(channel);
    const template = templates.get(campaign.template);
    const kind = sectionKeyOf(template, project, channel);
    if (!cfg || !template || !kind) continue;
    const r = renderContent(template, kind, vars);
    if (!r.content) continue;
    const key = sendKey(row.campaign, row.occurrence, row.member, channel);
    let content: string | null = JSON.stringify(r.content);
    if (content.includes(LINKS_KEY)) {
      const bound = bindLinks(content, key, await ledger.linkSecret());
      await ledger.insertLinks(bound.links);
      content = bound.content;
    }
    return {
      key,
      campaign: row.campaign,
      occurrence: row.occurrence,
      member: row.member,
      channel,
      state: "planned" as const,
      send_at: row.send_at,
      address: vars[cfg.address] === undefined ? null : String(vars[cfg.address]),
      sender: cfg.sender && vars[cfg.sender] !== undefined ? String(vars[cfg.sender]) : null,
      content,
      fallbacks: rest.length ? JSON.stringify(rest) : null,
      vars: row.vars,
      run_id: runId,
      updated_at: now,
    };
  }
  return undefined;
}
