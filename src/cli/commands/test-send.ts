/**
 * `chuda dispatch --test-to staff.csv CAMPAIGN`: the campaign's message, rendered for each staff member, sent for
 * real on its channels before the launch. Recorded apart from the campaign's sends (src/dispatch/test-send.ts).
 */
import { ledgerLocation, openLedger } from "../../ledger/open.js";
import { ledgerTokenStore } from "../../dispatch/token-store.js";
import { sendTests } from "../../dispatch/test-send.js";
import { readableColumn } from "../../plan/candidates.js";
import { ident as q } from "../../members/sql.js";
import { fieldsFor } from "../../plan/plan.js";
import type { Project } from "../../project/types.js";
import { maskPhonesIn } from "../../render/mask.js";
import { table } from "../../render/style.js";
import { UsageError, type Io } from "../io.js";
import { operationsMessages as O } from "../../diagnostics/messages/operations.js";
import { maskUrl } from "../../members/database.js";
import { openMembers, type MembersOptions } from "../members.js";
import { selectCampaigns, type Workspace } from "../workspace.js";
import { loadChannels } from "./dispatch.js";

export type TestSendOptions = Omit<MembersOptions, "members"> & { testTo: string; members?: string; json?: boolean; dryRun?: boolean };

/** A staff list is small; a file this long is a member snapshot given by mistake. */
const MAX_STAFF = 200;

export async function dispatchTests(ws: Workspace, project: Project, campaignName: string | undefined, opts: TestSendOptions, io: Io): Promise<number> {
  if (!campaignName) throw new UsageError(O.testToWithoutCampaign, [maskUrl(opts.testTo)]);
  if (opts.members) throw new UsageError(O.testToWithMembers);
  if (opts.dryRun) throw new UsageError(O.testToWithDryRun, [campaignName]);
  const [campaign] = selectCampaigns(ws, [campaignName]);
  const staff = await openMembers({ members: opts.testTo, encoding: opts.encoding, strict: opts.strict, quiet: true }, project, io);
  if (!staff) return 1;
  let rows: { member: string; fields: Record<string, unknown> }[];
  try {
    if (staff.count > MAX_STAFF) throw new UsageError(O.staffListTooLong, [staff.label, staff.count, MAX_STAFF]);
    if (!staff.count) throw new UsageError(O.staffListEmpty, [staff.label]);
    const fields = fieldsFor(campaign!, project, ws.templates);
    const cols = [
      `CAST(m.${q(project.members.key)} AS VARCHAR) AS __key`,
      ...fields.map((f) => `${readableColumn(f, project.members.fields.get(f)!)} AS ${q(f)}`),
    ];
    const result = await staff.table.conn.runAndReadAll(`SELECT ${cols.join(", ")} FROM ${staff.table.table} m ORDER BY m.rowid`);
    rows = (result.getRowObjects() as Record<string, unknown>[]).map((r) => {
      const values: Record<string, unknown> = {};
      for (const f of fields) if (r[f] !== null && r[f] !== undefined) values[f] = r[f];
      return { member: String(r.__key), fields: values };
    });
  } finally {
    staff.progress?.finish();
    await staff.close();
  }
  const tokens = ledgerTokenStore();
  const where = ledgerLocation(ws.root, io.env, project);
  const channels = await loadChannels(project, ws.root, io, new Set(), campaign!.channels, tokens, where.url);
  const ledger = await openLedger(where);
  tokens.attach(ledger);
  try {
    const results = await sendTests({ project, campaign: campaign!, templates: ws.templates, staff: rows, channels, ledger, now: () => Date.now() });
    const ok = results.filter((r) => r.state === "sent" || r.state === "queued").length;
    if (opts.json) io.out(JSON.stringify({ test: true, campaign: campaign!.name, sends: results }, null, 2) + "\n");
    else {
      io.out(
        `Test of ${campaign!.name}: ${ok} of ${results.length} messages accepted by the providers (recorded apart: no occurrence, report, cap or quota counts them)\n`,
      );
      io.out(
        table(
          ["member", "channel", "state", "detail"],
          results.map((r) => [r.member, r.channel, r.state, maskPhonesIn(r.message ?? "")]),
        ) + "\n",
      );
    }
    return results.some((r) => r.state === "failed") || ok === 0 ? 1 : 0;
  } finally {
    for (const c of channels.values()) await c.instance.close().catch(() => undefined);
    await ledger.close();
  }
}
