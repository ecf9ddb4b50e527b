import { Option } from "commander";
import { plan } from "../../plan/plan.js";
import { fieldsFor } from "../../plan/plan.js";
import { sectionKeyOf } from "../../plan/content.js";
import { readableColumn } from "../../plan/candidates.js";
import { ident as q } from "../../members/sql.js";
import { addDays, epochToZoned, formatLocalTime, zonedToEpoch } from "../../calendar/time.js";
import { renderContent, previewText } from "../../content/index.js";
import { maskDeep, maskPhonesIn } from "../../render/mask.js";
import { escapeControls } from "../../diagnostics/escape.js";
import { makeStyle } from "../../render/style.js";
import { UsageError, type Io } from "../io.js";
import type { ChudaProgram } from "./program.js";
import { operationsMessages as O } from "../../diagnostics/messages/operations.js";
import { parseDateFlag } from "../moment.js";
import { loadWorkspace, requireValid, selectCampaigns } from "../workspace.js";
import { membersInput, openMembers, type MembersOptions } from "../members.js";
import { failedConditions, irText } from "../../members/explain.js";
import { readLedgerView } from "../history.js";

const REASONS: Record<string, string> = {
  held_out: "in the holdout (control) group of this campaign: never sent, used to measure uplift",
  unreachable: "no channel of the campaign has an address and consent for this member",
  "capped:repeat": "already received this campaign (repeat rule)",
  "capped:policy.max": "over the frequency cap (policy.max)",
  "capped:quota": "every reachable channel's quota is used up",
  "capped:limit": "beyond the campaign's limit for the occurrence",
  "capped:budget": "beyond the campaign's budget for the occurrence",
};

export function registerPreview(program: ChudaProgram, io: Io): void {
  program
    .command("preview")
    .description("the message(s) one member would get from a campaign, or why they get none")
    .argument("<campaign>", "campaign name")
    .option("--members <file|url>", "member snapshot, or a postgres:// or mysql:// URL (default: members.source)")
    .requiredOption("--member <id>", "the member's key")
    .option("--channel <name>", "only this channel")
    .option("--from <date>", "look for the member's next occurrence from this day (default today)")
    .option("--json", "machine-readable output")
    .addOption(new Option("--encoding <enc>", "snapshot encoding").choices(["auto", "utf-8", "gbk"]).default("auto"))
    .option("--no-cache", "parse the snapshot file again instead of reusing its loaded copy under .chuda/cache")
    .run(async (name: string, opts: MembersOptions & { member: string; channel?: string; from?: string; json?: boolean }) => {
      const ws = await loadWorkspace(program.opts().project, io);
      const project = requireValid(ws, io);
      const [campaign] = selectCampaigns(ws, [name]);
      membersInput(opts.members, project, io.env); // no members at all is refused before any work
      if (opts.channel && !campaign!.channels.includes(opts.channel))
        throw new UsageError(O.channelNotUsed, [name, opts.channel, campaign!.channels.join(" > ")]);
      const members = await openMembers({ ...opts, quiet: true }, project, io);
      try {
        const { conn, table } = members.table;
        const key = q(project.members.key);
        await conn.run(`CREATE OR REPLACE TEMP TABLE preview_member AS SELECT * FROM ${table} WHERE CAST(${key} AS VARCHAR) = $1`, [opts.member]);
        const count = Number((await conn.runAndReadAll(`SELECT COUNT(*) FROM preview_member`)).getRows()[0]![0]);
        if (!count) throw new UsageError(O.noSuchMember, [maskPhonesIn(opts.member), members.label, project.members.key]);
        // The member's fields, for rendering.
        const fields = fieldsFor(campaign!, project, ws.templates);
        const cols = fields.map((f) => `${readableColumn(f, project.members.fields.get(f)!)} AS ${q(f)}`).join(", ");
        const row = cols ? ((await conn.runAndReadAll(`SELECT ${cols} FROM preview_member m`)).getRowObjects()[0] as Record<string, unknown>) : {};
        const vars: Record<string, unknown> = { ...campaign!.with };
        for (const f of fields) if (row[f] !== null && row[f] !== undefined) vars[f] = row[f];

        // The planner decides, for the member's next occurrence in the coming year.
        const from = opts.from !== undefined ? parseDateFlag(opts.from, "--from") : epochToZoned(io.now(), project.timezone).date;
        const p = await plan({
          project,
          campaigns: [campaign!],
          exclude: ws.check.exclude,
          templates: ws.templates,
          members: { conn, table: "preview_member", count: 1 },
          from,
          to: addDays(from, 366),
          memberRows: true,
          render: false,
        });
        let decision = p.decisions[0];
        let plannedBefore = false;
        if (decision) {
          // Then the whole repository decides that occurrence, as dispatch would: every campaign up to it (their sends
          // count against caps and quotas), the ledger's earlier sends, and every member when some campaign's limit
          // or budget makes one member's fate depend on the others.
          const all = ws.check.campaigns;
          const everyone = all.some((c) => c.limit || c.budget !== undefined);
          const ledger = await readLedgerView(ws.root, project, all, { fromMs: zonedToEpoch(from, 0, project.timezone), toMs: decision.sendAt });
          const whole = await plan({
            project,
            campaigns: all,
            exclude: ws.check.exclude,
            templates: ws.templates,
            members: everyone ? members.table : { conn, table: "preview_member", count: 1 },
            from,
            to: epochToZoned(decision.sendAt, project.timezone).date,
            history: ledger.history,
            committed: ledger.committed,
            spent: ledger.spent,
            memberRows: true,
            onlyMember: opts.member,
            render: false,
          });
          const first = decision;
          plannedBefore = campaign!.channels.some((ch) => whole.kept?.has(`${campaign!.name}|${first.occurrence}|${opts.member}|${ch}`));
          decision = whole.decisions.find((d) => d.campaign === campaign!.name && d.occurrence === first.occurrence) ?? first;
        }
        const channels = opts.channel ? [opts.channel] : campaign!.channels;
        const messages = channels.map((ch) => {
          const template = ws.templates.get(campaign!.template);
          const kind = sectionKeyOf(template, project, ch);
          if (!kind || !template?.sections.has(kind)) return { channel: ch, error: `template ${campaign!.template} has no section for this channel` };
          const r = renderContent(template, kind, vars);
          const price = project.channels.get(ch)?.price;
          return { channel: ch, content: r.content, problems: r.problems, text: r.content ? previewText(r.content, price ? { price: price.amount } : {}) : "" };
        });
        // Not in the audience: which of its conditions (or policy.exclude) leaves the member out, with their values.
        const now = `${from} ${String(Math.floor(project.policy.defaultTime / 60)).padStart(2, "0")}:${String(project.policy.defaultTime % 60).padStart(2, "0")}:00`;
        const failed = decision ? [] : await failedConditions(campaign!.audience, project, conn, "preview_member", from, now);
        const excluded =
          decision || failed.length || !ws.check.exclude
            ? []
            : await failedConditions({ op: "not", arg: ws.check.exclude }, project, conn, "preview_member", from, now);
        const why = [
          ...failed.map((f) => (f.values ? `${f.condition}: ${f.values}` : f.condition)),
          ...excluded.map((f) => `excluded by policy.exclude (${irText(ws.check.exclude!)})${f.values ? `: ${f.values}` : ""}`),
        ];
        const trigger = campaign!.trigger;
        if (!decision && !why.length && trigger.kind === "member_date") {
          // The trigger is the member's own date: without one there is no occurrence for them.
          const [value] = (await conn.runAndReadAll(`SELECT CAST(${q(trigger.field)} AS VARCHAR) FROM preview_member`)).getRows()[0] ?? [];
          if (value === null || value === undefined || value === "") why.push(`the trigger needs ${trigger.field}: ${trigger.field} is missing`);
        }
        const outcome = decision
          ? {
              occurrence: decision.occurrence,
              send_at: new Date(decision.sendAt).toISOString(),
              channel: decision.channel ?? null,
              reason: decision.reason ?? null,
              ...(plannedBefore ? { planned_before: true } : {}),
            }
          : { occurrence: null, send_at: null, channel: null, reason: "not_in_audience", why };
        if (opts.json) io.out(JSON.stringify(maskDeep({ campaign: campaign!.name, member: opts.member, ...outcome, messages }), null, 2) + "\n");
        else {
          const st = makeStyle(io.color);
          io.out(st.bold(escapeControls(`${campaign!.name}${campaign!.title ? ` ${campaign!.title}` : ""} → member ${maskPhonesIn(opts.member)}`)) + "\n");
          // The member's values in the failing conditions are member data too.
          if (!decision && why.length) io.out(`not in the audience on ${from}:\n${why.map((w) => `  ${escapeControls(maskPhonesIn(w))}\n`).join("")}\n`);
          else if (!decision)
            io.out(
              `not in the audience of any occurrence from ${from} to ${addDays(from, 366)} (the audience expression, the trigger or policy.exclude leaves this member out)\n\n`,
            );
          else if (decision.channel)
            io.out(
              `next send: ${formatLocalTime(decision.sendAt, project.timezone)} (occurrence ${decision.occurrence}) on ${st.green(decision.channel)}${plannedBefore ? " (already planned by an earlier dispatch run; see chuda status)" : ""}\n\n`,
            );
          else io.out(`next occurrence ${decision.occurrence}: ${st.yellow("no message")}: ${REASONS[decision.reason!] ?? decision.reason}\n\n`);
          for (const m of messages) {
            io.out(st.bold(`[${m.channel}]`) + (decision?.channel === m.channel ? st.green(" ← chosen") : "") + "\n");
            // Member data reaches the terminal here: control characters are shown, not obeyed.
            io.out(m.error ? `${escapeControls(m.error)}\n\n` : `${escapeControls(maskPhonesIn(m.text ?? ""))}\n`);
            for (const p of m.problems ?? [])
              io.out(`${p.severity === "error" ? st.red("error") : st.yellow("warning")} ${escapeControls(`${p.field}: ${p.message}`)}\n`);
            io.out("\n");
          }
        }
        return 0;
      } finally {
        members.progress?.finish();
        await members.close();
      }
    });
}
