/**
 * Everything the event loop needs, opened from a campaign repository the way `chuda dispatch` opens it: the checked
 * campaigns and templates, the member snapshot, the channels with their secrets from the environment, and a ledger
 * connection of the loop's own. `chuda serve --members FILE` calls this once at start.
 */
import { loadChannels } from "../cli/commands/dispatch.js";
import type { Io } from "../cli/io.js";
import { openMembers } from "../cli/members.js";
import { loadWorkspace, requireValid } from "../cli/workspace.js";
import { ledgerLocation, openLedger } from "../ledger/open.js";
import { EventLoop, type EventLoopInput } from "./event-loop.js";

export interface OpenedEventLoop {
  loop: EventLoop;
  close(): Promise<void>;
}

export async function openEventLoop(opts: {
  /** The project directory (or chuda.yaml), as `--project` takes it; default: found upward from io.cwd. */
  project?: string;
  /** A file or database URL; undefined: the database chuda.yaml names (`members.source`). */
  membersFile: string | undefined;
  io: Io;
  clock?: () => number;
  intervalMs?: number;
  onCycle?: EventLoopInput["onCycle"];
  onError?: EventLoopInput["onError"];
}): Promise<OpenedEventLoop> {
  const { io } = opts;
  const ws = await loadWorkspace(opts.project, io);
  const project = requireValid(ws, io);
  const members = await openMembers({ members: opts.membersFile, quiet: true }, project, io);
  const eventCampaigns = ws.check.campaigns.filter((c) => c.trigger.kind === "business_event");
  const channelNames = [...new Set(eventCampaigns.flatMap((c) => c.channels))];
  const channels = await loadChannels(project, ws.root, io, new Set(), channelNames);
  // The ledger `chuda serve` writes (PostgreSQL when configured), on a connection of the loop's own.
  const ledger = await openLedger(ledgerLocation(ws.root, io.env, project));
  const loop = new EventLoop({
    project,
    root: ws.root,
    campaigns: ws.check.campaigns,
    ...(ws.check.exclude ? { exclude: ws.check.exclude } : {}),
    templates: ws.templates,
    members: members.table,
    channels,
    ledger,
    clock: opts.clock ?? (() => io.now()),
    ...(opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {}),
    ...(opts.onCycle ? { onCycle: opts.onCycle } : {}),
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
  return {
    loop,
    async close() {
      await loop.stop();
      for (const c of channels.values()) await c.instance.close().catch(() => undefined);
      await ledger.close();
      await members.close();
    },
  };
}
