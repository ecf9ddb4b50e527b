import path from "node:path";
import { ledgerExists, locateLedger, openLedger } from "../../ledger/open.js";
import { maskDeep, maskPhone, maskPhonesIn } from "../../render/mask.js";
import { formatLocalTime } from "../../calendar/time.js";
import { loadProject } from "../../project/index.js";
import { requireLedgerIdentity, requireLedgerIdentityOf } from "./dispatch.js";
import { makeStyle, table } from "../../render/style.js";
import type { Io } from "../io.js";
import type { ChudaProgram } from "./program.js";
import { resolveProjectFile } from "../workspace.js";

/** Unknown sends listed without --all. */
const UNKNOWN_SHOWN = 50;

const STATES = ["planned", "in_flight", "sent", "queued", "failed", "unknown", "expired", "held_out", "withdrawn"] as const;

export function registerStatus(program: ChudaProgram, io: Io): void {
  program
    .command("status")
    .description("runs, and sends by state per campaign and channel; unknown sends to follow up")
    .option("--json", "machine-readable output")
    .option("--all", `list every unknown send (default: the first ${UNKNOWN_SHOWN})`)
    .option("--new-ledger", "show a missing or different ledger (.chuda/state.db) anyway")
    .run(async (opts: { json?: boolean; all?: boolean; newLedger?: boolean }) => {
      const projectFile = resolveProjectFile(program.opts().project, io);
      const root = path.dirname(projectFile);
      const where = await locateLedger(projectFile, io.env);
      if (!where.url) requireLedgerIdentity(root, !!opts.newLedger);
      const totals = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<(typeof STATES)[number], number>;
      if (!ledgerExists(where)) {
        if (opts.json)
          io.out(
            JSON.stringify(
              {
                runs: [],
                sends: totals,
                by_campaign: [],
                unknown: [],
                unknown_total: 0,
                staff: [],
                delivery: { delivered: 0, failed: 0, unconfirmed: 0 },
                suppressed: 0,
              },
              null,
              2,
            ) + "\n",
          );
        else io.out("no dispatch has run in this repository yet (.chuda/state.db does not exist)\n");
        return 0;
      }
      const ledger = await openLedger(where);
      try {
        if (where.url) requireLedgerIdentityOf(root, ledger.id, !!opts.newLedger);
        const counts = await ledger.counts();
        for (const c of counts) if (c.state in totals) totals[c.state as keyof typeof totals] += c.n;
        const runs = (await ledger.runs(10)).map((r) => ({
          id: r.id,
          started_at: new Date(r.started_at).toISOString(),
          finished_at: r.finished_at ? new Date(r.finished_at).toISOString() : null,
          at: new Date(r.at).toISOString(),
          status: r.status,
          // Marked running, but its process shows no sign of life: killed (the next dispatch marks it interrupted).
          ...(r.stale ? { stale: true, last_seen: r.last_seen ? new Date(r.last_seen).toISOString() : null } : {}),
        }));
        const unknown = (await ledger.unknownSends(opts.all ? Number.MAX_SAFE_INTEGER : UNKNOWN_SHOWN)).map((u) => ({
          campaign: u.campaign,
          occurrence: u.occurrence,
          member: maskPhonesIn(u.member),
          channel: u.channel,
          address: u.address ? maskPhone(u.address) : null,
          attempts: u.attempts,
          error_code: u.error_code,
        }));
        const byCampaign = new Map<string, Record<string, number>>();
        for (const c of counts) {
          const k = `${c.campaign}\u0000${c.channel}`;
          const row = byCampaign.get(k) ?? Object.fromEntries(STATES.map((s) => [s, 0]));
          row[c.state] = (row[c.state] ?? 0) + c.n;
          byCampaign.set(k, row);
        }
        const rows = [...byCampaign].map(([k, v]) => ({ campaign: k.split("\u0000")[0]!, channel: k.split("\u0000")[1]!, ...v }));
        const failures = await ledger.failuresByCode();
        // 员工执行率: the share of WeCom tasks each staff member confirmed, per campaign.
        const staff = (await ledger.staffConfirmation()).map((r) => ({ ...r, rate: r.tasks ? r.confirmed / r.tasks : null }));
        // Delivery receipts (pushed to `chuda serve` or pulled) and the members suppressed by an opt-out.
        const delivery = await ledger.delivery();
        const suppressed = (await ledger.suppressions()).length;
        if (opts.json)
          io.out(
            JSON.stringify(
              maskDeep({ runs, sends: totals, by_campaign: rows, failures, unknown, unknown_total: totals.unknown, staff, delivery, suppressed }),
              null,
              2,
            ) + "\n",
          );
        else {
          const st = makeStyle(io.color);
          // People read times in the project's timezone (the JSON keeps UTC).
          const tz = (await loadProject(projectFile).catch(() => undefined))?.project?.timezone;
          const local = (iso: string) => (tz ? formatLocalTime(Date.parse(iso), tz) : iso);
          io.out(
            st.bold("Runs") +
              "\n" +
              table(
                ["id", "started", "at", "status"],
                runs.map((r) => [
                  String(r.id),
                  local(r.started_at),
                  local(r.at),
                  r.stale ? `running? no sign of life${r.last_seen ? ` since ${local(r.last_seen)}` : " (its process is gone)"}: killed?` : r.status,
                ]),
              ) +
              "\n",
          );
          io.out(
            st.bold("Sends") +
              "\n" +
              table(
                ["campaign", "channel", ...STATES],
                rows.map((r) => [r.campaign, r.channel, ...STATES.map((s) => String((r as Record<string, unknown>)[s] ?? 0))]),
                { right: STATES.map((_, i) => i + 2) },
              ) +
              "\n",
          );
          if (delivery.delivered + delivery.failed + delivery.unconfirmed > 0)
            io.out(`${st.bold("Delivery")}: ${delivery.delivered} delivered, ${delivery.failed} failed, ${delivery.unconfirmed} sent without a receipt yet\n`);
          if (suppressed) io.out(`${st.bold("Suppressed")}: ${suppressed} opt-outs in force (chuda suppress list)\n`);
          if (staff.length) {
            const pct = (x: number | null) => (x === null ? "-" : `${(x * 100).toFixed(1)}%`);
            io.out(
              st.bold("WeCom staff confirmation (员工执行率)") +
                "\n" +
                table(
                  ["campaign", "channel", "staff", "tasks", "confirmed", "rate", "sends", "sent", "waiting", "expired"],
                  staff.map((r) => [
                    r.campaign,
                    r.channel,
                    r.staff,
                    String(r.tasks),
                    String(r.confirmed),
                    pct(r.rate),
                    String(r.sends),
                    String(r.sent),
                    String(r.waiting),
                    String(r.expired),
                  ]),
                  { right: [3, 4, 5, 6, 7, 8, 9] },
                ) +
                "\n",
            );
          }
          if (failures.length)
            io.out(
              st.bold("Failures by code") +
                "\n" +
                table(
                  ["channel", "code", "sends"],
                  failures.map((f) => [f.channel, f.error_code ?? "", String(f.n)]),
                  { right: [2] },
                ) +
                "\n",
            );
          if (unknown.length)
            io.out(
              st.yellow(`${totals.unknown} unknown sends need a person to check with the provider (never re-sent automatically):`) +
                "\n" +
                table(
                  ["campaign", "occurrence", "member", "channel", "address"],
                  unknown.map((u) => [u.campaign, u.occurrence, u.member, u.channel, u.address ?? ""]),
                ),
            );
          if (totals.unknown > unknown.length) io.out(`… and ${totals.unknown - unknown.length} more (chuda status --all)\n`);
        }
        return 0;
      } finally {
        await ledger.close();
      }
    });
}
