import type { ChudaProgram } from "./program.js";
import { operationsMessages as O } from "../../diagnostics/messages/operations.js";
import type { SuppressionRow } from "../../dispatch/delivery.js";
import { ledgerExists, locateLedger, openLedger } from "../../ledger/open.js";
import { maskDeep, maskPhone } from "../../render/mask.js";
import { makeStyle, table } from "../../render/style.js";
import { formatLocalTime } from "../../calendar/time.js";
import { loadProject } from "../../project/index.js";
import { UsageError, type Io } from "../io.js";
import { resolveProjectFile } from "../workspace.js";

interface WhoWhy {
  channel?: string[];
  reason?: string;
  by?: string;
}

/** Who records the change: --by, else the login name; a suppression always says who and why. */
function actor(opts: WhoWhy, io: Io): string {
  const by = opts.by ?? io.env.CHUDA_ACTOR ?? io.env.USER ?? io.env.LOGNAME;
  if (!by?.trim()) throw new UsageError(O.unknownActor);
  return by.trim();
}

function reason(opts: WhoWhy): string {
  if (!opts.reason?.trim()) throw new UsageError(O.suppressionNeedsReason);
  return opts.reason.trim();
}

async function projectChannels(projectFile: string, wanted: string[] | undefined): Promise<string[]> {
  if (!wanted?.length) return ["*"];
  const { project } = await loadProject(projectFile);
  const known = project ? [...project.channels.keys()] : [];
  for (const c of wanted) if (project && !project.channels.has(c)) throw new UsageError(O.noSuchChannel, [c, known.join(", ")]);
  return wanted;
}

/** `add` and `remove` both act on one member, on some channels or all, and record why and who. */
function memberChange(parent: ChudaProgram, name: string, description: string, memberHelp: string, channelHelp: string): ChudaProgram {
  return parent
    .command(name)
    .description(description)
    .argument("<member>", memberHelp)
    .option("--channel <channels...>", channelHelp)
    .option("--reason <text>", "why (required)")
    .option("--by <name>", "who (default: the login name)");
}

/** What every change starts from: the project file, and why and by whom (both required before anything is opened). */
function changeRequest(program: ChudaProgram, opts: WhoWhy, io: Io): { projectFile: string; why: string; who: string } {
  return { projectFile: resolveProjectFile(program.opts().project, io), why: reason(opts), who: actor(opts, io) };
}

export function registerSuppress(program: ChudaProgram, io: Io): void {
  const cmd = program.command("suppress").description("the suppression list: members who opted out (pushed to chuda serve) or complained (added by hand)");
  memberChange(
    cmd,
    "add",
    "suppress a member (by member key) on some channels, or on all of them",
    "the member's key",
    "only these channels (default: every channel)",
  ).run(async (member: string, opts: WhoWhy) => {
    const { projectFile, why, who } = changeRequest(program, opts, io);
    const channels = await projectChannels(projectFile, opts.channel);
    // The ledger dispatch and serve use: .chuda/state.db, or PostgreSQL (CHUDA_LEDGER_URL, `ledger.url_env`).
    const ledger = await openLedger(await locateLedger(projectFile, io.env));
    try {
      const at = io.now();
      await ledger.suppress(channels.map((channel) => ({ member, channel, source: "manual", reason: why, actor: who, at })));
    } finally {
      await ledger.close();
    }
    io.out(`suppressed ${member} on ${channels[0] === "*" ? "every channel" : channels.join(", ")}\n`);
    return 0;
  });
  memberChange(
    cmd,
    "remove",
    "lift the suppressions of a member (by member key, phone number or openid)",
    "the member's key or the suppressed address",
    "only these channels' suppressions (default: all of them)",
  ).run(async (member: string, opts: WhoWhy) => {
    const { projectFile, why, who } = changeRequest(program, opts, io);
    const where = await locateLedger(projectFile, io.env);
    if (!ledgerExists(where)) throw new UsageError(O.nothingSuppressed);
    const ledger = await openLedger(where);
    let n = 0;
    try {
      const at = io.now();
      const channels = opts.channel?.length ? opts.channel : [undefined];
      for (const c of channels) n += await ledger.unsuppress(member, c, who, why, at);
    } finally {
      await ledger.close();
    }
    if (!n) {
      io.err(`chuda: ${member} has no suppression in force${opts.channel?.length ? ` on ${opts.channel.join(", ")}` : ""}\n`);
      return 1;
    }
    io.out(`lifted ${n} suppression${n === 1 ? "" : "s"} of ${member}\n`);
    return 0;
  });
  cmd
    .command("list")
    .description("suppressions in force (with --all, lifted ones too): who, on which channel, why, by whom, when")
    .option("--all", "include lifted suppressions")
    .option("--json", "machine-readable output")
    .run(async (opts: { all?: boolean; json?: boolean }) => {
      const projectFile = resolveProjectFile(program.opts().project, io);
      const where = await locateLedger(projectFile, io.env);
      let rows: SuppressionRow[] = [];
      if (ledgerExists(where)) {
        const ledger = await openLedger(where);
        try {
          rows = await ledger.suppressions({ all: !!opts.all });
        } finally {
          await ledger.close();
        }
      }
      const out = rows.map((r) => ({
        member: r.member,
        address: r.address ? maskPhone(r.address) : null,
        channel: r.channel,
        source: r.source,
        reason: r.reason,
        by: r.actor,
        at: new Date(r.at).toISOString(),
        ...(r.removed_at !== null ? { removed_at: new Date(r.removed_at).toISOString(), removed_by: r.removed_by, removed_reason: r.removed_reason } : {}),
      }));
      if (opts.json) {
        io.out(JSON.stringify(maskDeep({ suppressions: out }), null, 2) + "\n");
        return 0;
      }
      if (!out.length) {
        io.out(opts.all ? "no suppressions recorded\n" : "no suppressions in force\n");
        return 0;
      }
      const tz = (await loadProject(projectFile).catch(() => undefined))?.project?.timezone;
      const local = (iso: string) => (tz ? formatLocalTime(Date.parse(iso), tz) : iso);
      const st = makeStyle(io.color);
      io.out(
        table(
          ["member / address", "channel", "source", "reason", "by", "at", ...(opts.all ? ["lifted"] : [])],
          out.map((r) => [
            r.member ?? r.address ?? "",
            r.channel === "*" ? "all" : r.channel,
            r.source,
            r.reason,
            r.by,
            local(r.at),
            ...(opts.all ? [r.removed_at ? `${local(r.removed_at)} by ${r.removed_by}: ${r.removed_reason}` : ""] : []),
          ]),
          { style: st },
        ),
      );
      return 0;
    });
}
