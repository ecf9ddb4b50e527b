import { existsSync } from "node:fs";
import type { Command } from "commander";
import { Option } from "commander";
import { acquireLock } from "../../dispatch/lock.js";
import { checkLedgerIdentity, LedgerFileError, ledgerPath, SqliteLedger, writeLedgerMarker } from "../../dispatch/ledger.js";
import { openLedger } from "../../ledger/open.js";
import { pullableChannels, pullReceipts, type PullSummary } from "../../receipts/run.js";
import { drySends, planDue, rateGate, runDispatch, type DispatchEvent, type LoadedChannel } from "../../dispatch/runner.js";
import { loadDriver } from "../../drivers/registry.js";
import { renderDispatchDryRun, renderDispatchSummary } from "../../report/dispatch.js";
import { maskDeep, maskPhonesIn } from "../../report/mask.js";
import { formatLocalTime } from "../../calendar/time.js";
import type { startDispatchView } from "../../report/ink/dispatch.js";
import { UsageError, type Io } from "../io.js";
import { parseMoment } from "../moment.js";
import { loadWorkspace, requireValid, selectCampaigns } from "../workspace.js";
import { onInterrupt, type InterruptSignal } from "../signals.js";
import { openMembers, type MembersOptions } from "../members.js";
import type { Project } from "../../project/types.js";
import { dispatchTests, type TestSendOptions } from "./test-send.js";

/** How far past the clock `--at` may be (clock skew between machines) before a real run refuses it. */
const FUTURE_TOLERANCE_MS = 5 * 60_000;

export function registerDispatch(program: Command, io: Io, done: (code: number) => void): void {
  program
    .command("dispatch")
    .description("send what is due: resumable, idempotent, locked against a second run")
    .argument("[campaign]", "with --test-to: the campaign whose message the staff get")
    .option("--members <file>", "member snapshot: CSV (UTF-8 or GBK), JSON Lines or Parquet (required)")
    .option("--at <moment>", "the run's moment (default now)")
    .option("--dry-run", "send nothing and write nothing; print what would go out")
    .option("--only <campaigns...>", "only these campaigns")
    .option("--json", "machine-readable summary")
    .addOption(new Option("--encoding <enc>", "snapshot encoding").choices(["auto", "utf-8", "gbk"]).default("auto"))
    .option("--strict", "any rejected snapshot row stops the run")
    .option("--new-ledger", "accept a missing or different ledger (.chuda/state.db) and make it this repository's")
    .option("--allow-shrink", "run even if the snapshot has half the members of the last run's or fewer")
    .option("--test-to <file>", "send CAMPAIGN's message for real to the staff in this member-format file (a test before launch)")
    .action(
      async (
        campaignName: string | undefined,
        opts: MembersOptions & { at?: string; dryRun?: boolean; only?: string[]; json?: boolean; allowShrink?: boolean; testTo?: string; newLedger?: boolean },
      ) => {
        const ws = await loadWorkspace(program.opts().project, io);
        const project = requireValid(ws, io);
        if (opts.testTo) return done(await dispatchTests(ws, project, campaignName, opts as TestSendOptions, io));
        if (campaignName)
          throw new UsageError(`dispatch takes a campaign name only with --test-to`, `to dispatch some campaigns only, use --only ${campaignName}`);
        if (!opts.members) throw new UsageError("dispatch needs --members <file>", "the member snapshot to plan against: chuda dispatch --members members.csv");
        const campaigns = selectCampaigns(ws, opts.only ?? []);
        const at = opts.at !== undefined ? parseMoment(opts.at, project.timezone) : io.now();
        // A real run at a later moment would send what is not due yet (and its sends would never be sent at T again).
        if (!opts.dryRun && at > io.now() + FUTURE_TOLERANCE_MS)
          throw new UsageError(
            `--at ${opts.at} is in the future (now is ${new Date(io.now()).toISOString()}): dispatch sends what is due now`,
            "use --dry-run to see what a later run would send, or `chuda simulate --at`",
          );

        // SIGTERM / SIGINT during a real run: no new provider call; the calls in flight finish and are recorded, the
        // run is marked interrupted, the lock released, temporary files removed (a second signal exits at once).
        const abort = new AbortController();
        let signalled: InterruptSignal | undefined;
        const unhook = opts.dryRun
          ? () => undefined
          : onInterrupt((sig) => {
              signalled = sig;
              abort.abort();
            });
        const interruptedBeforeRun = () => new UsageError(`interrupted by ${signalled} before the run started; nothing was sent`);
        const lock = opts.dryRun ? undefined : acquireLock(ws.root, io.now());
        if (lock && !lock.ok)
          throw new UsageError(
            `another dispatch is running in this repository (${lock.pid ? `pid ${lock.pid}, since ${lock.since}` : "holder unknown"})`,
            "wait for it to finish; the lock is released when that process ends, however it ends",
          );
        try {
          requireLedgerIdentity(ws.root, !!opts.newLedger);
        } catch (e) {
          if (lock?.ok) lock.release();
          throw e;
        }
        const channels = opts.dryRun
          ? new Map<string, LoadedChannel>()
          : await loadChannels(project, ws.root, io, await unsettledChannels(ws.root, opts.only?.length ? campaigns.map((c) => c.name) : undefined));
        const members = await openMembers(opts, project, io);
        if (!members) {
          if (lock?.ok) lock.release();
          unhook();
          return done(2);
        }
        if (signalled) {
          await members.close();
          if (lock?.ok) lock.release();
          throw interruptedBeforeRun();
        }
        if (opts.strict && members.rejected > 0) {
          await members.close();
          if (lock?.ok) lock.release();
          throw new UsageError(`${members.rejected} snapshot rows were rejected and --strict is set`, "fix the snapshot or run without --strict");
        }
        // A dry run reads an existing ledger (caps, occurrences already planned) but writes nothing.
        const file = ledgerPath(ws.root);
        const ledger = await openLedger({ file: opts.dryRun && !existsSync(file) ? ":memory:" : file });
        // `--only`: the run sends nothing of other campaigns, not even their sends pending since an earlier run.
        if (opts.only?.length) await ledger.restrictTo(campaigns.map((c) => c.name));
        if (!opts.dryRun) writeLedgerMarker(ws.root, ledger.id);
        let view: ReturnType<typeof startDispatchView> | undefined;
        try {
          // A truncated nightly export must not quietly narrow every campaign: half the last run's members or fewer stops.
          const last = await ledger.lastSnapshotSize();
          if (last && members.count * 2 <= last && !opts.allowShrink) {
            const message = `the snapshot has ${members.count.toLocaleString("en-US")} members, half or less of the ${last.toLocaleString("en-US")} the last dispatch used`;
            const hint = "check that the export is complete; if the members really left, run again with --allow-shrink";
            if (!opts.dryRun) throw new UsageError(message, hint);
            io.err(`warning: ${message}; a real run would stop (${hint})\n`);
          }
          if (opts.dryRun) {
            const input = { project, campaigns, exclude: ws.check.exclude, templates: ws.templates, members: members.table, at, ledger };
            const { plan, missed } = await planDue(input);
            members.progress?.finish();
            // Sends pending since earlier runs go out too: shown with the new ones.
            const dry = await drySends(input, plan);
            if (opts.json) {
              const sends = dry.sends.map((d) => ({
                campaign: d.campaign,
                occurrence: d.occurrence,
                member: d.member,
                channel: d.channel,
                ...(d.earlier ? { pending_since_earlier_run: true } : {}),
              }));
              io.out(
                JSON.stringify(
                  maskDeep({
                    dry_run: true,
                    at: new Date(at).toISOString(),
                    sends,
                    pending_from_earlier_runs: dry.sends.filter((d) => d.earlier).length,
                    waiting: dry.waiting,
                    expiring: dry.expiring,
                    withdrawing: dry.withdrawing,
                    missed,
                  }),
                  null,
                  2,
                ) + "\n",
              );
            } else io.out(renderDispatchDryRun(dry, missed, project, { color: io.color, at }));
            return done(0);
          }
          // On a TTY: the live Ink view of the run (stderr); otherwise plain log lines.
          members.progress?.finish();
          // Ink (half a second to import) is loaded only for a terminal.
          view = io.interactive
            ? (await import("../../report/ink/dispatch.js")).startDispatchView({
                color: io.color,
                title: `chuda dispatch · ${formatLocalTime(at, project.timezone)}`,
                secrets: secretValues(project, io),
              })
            : undefined;
          const onEvent = (e: DispatchEvent) => {
            if (view) view.event(e);
            else if (!opts.json) io.err(eventLine(e));
          };
          if (!lock?.ok) throw new Error("a run without the dispatch lock");
          const summary = await runDispatch({
            project,
            campaigns,
            exclude: ws.check.exclude,
            templates: ws.templates,
            members: members.table,
            at,
            ledger,
            channels,
            now: () => Date.now(),
            pinned: opts.at !== undefined || !!io.env.CHUDA_NOW,
            onEvent,
            signal: abort.signal,
            lock,
          });
          // Channels whose receipts are pulled (`options: { pull_receipts: true }`): asked at the end of the run. A failure
          // to pull is reported, never the run's.
          const pullable = [...project.channels.values()].filter((c) => c.options.pull_receipts === true).map((c) => c.name);
          let receipts: PullSummary[] = [];
          if (!summary.interrupted && pullable.length && ledger instanceof SqliteLedger)
            receipts = await pullReceipts(project, ledger, io.env, () => io.now(), pullableChannels(project, pullable)).catch((e: Error) => {
              io.err(`chuda: pulling delivery receipts failed: ${e.message}\n`);
              return [];
            });
          view?.finish(summary);
          if (opts.json) io.out(JSON.stringify(maskDeep(receipts.length ? { ...summary, receipts } : summary), null, 2) + "\n");
          else {
            io.out(renderDispatchSummary(summary, { color: io.color, timezone: project.timezone }));
            for (const r of receipts) io.out(`receipts pulled for ${r.channel}: ${r.delivered} delivered, ${r.failed} failed (of ${r.asked} without one)\n`);
          }
          if (summary.interrupted) {
            io.err(`chuda: interrupted by ${signalled}: the calls in flight finished and were recorded; ${summary.pending} sends wait for the next run\n`);
            return done(2);
          }
          // Exit 1 for cron's mail when something is left to retry or to look at: sends pending (an outage, a quota, quiet
          // hours), unknown or expired, a stopped channel, occurrences missed. A member's own failure (an invalid number)
          // is listed but is not the run's: exit 0.
          done(summary.unknown || summary.pending || summary.expired || summary.stopped.length || summary.missed.length ? 1 : 0);
        } catch (e) {
          if (e instanceof LedgerFileError)
            throw new UsageError(e.message, "restore the ledger from a backup before the next run; `chuda status` shows what it holds");
          throw e;
        } finally {
          members.progress?.finish();
          view?.finish();
          for (const c of channels.values()) await c.instance.close().catch(() => undefined);
          await ledger.close();
          await members.close();
          if (lock?.ok) lock.release();
          unhook();
        }
      },
    );
}

/**
 * Refuses (exit 2) a ledger that is not the one this repository's dispatches wrote: missing although one existed,
 * or of another history. `--new-ledger` accepts it on purpose.
 */
export function requireLedgerIdentity(root: string, newLedger: boolean): void {
  if (newLedger) return;
  const id = checkLedgerIdentity(root);
  if (id.ok) return;
  if (id.problem === "missing")
    throw new UsageError(
      `the ledger .chuda/state.db is missing, but this repository has dispatched before (ledger ${id.expected}); a new ledger would send everything again`,
      "restore .chuda/state.db from a backup, or pass --new-ledger to start a new history on purpose",
    );
  throw new UsageError(
    `the ledger .chuda/state.db is not this repository's (ledger ${id.found ?? "without an id"}, expected ${id.expected}); its history does not match what was sent`,
    "restore this repository's .chuda/state.db, or pass --new-ledger to adopt this one on purpose",
  );
}

/** Channels with sends in flight (any campaign) or queued (of the run's campaigns) in the ledger, from earlier runs. */
async function unsettledChannels(root: string, only: string[] | undefined): Promise<Set<string>> {
  const file = ledgerPath(root);
  if (!existsSync(file)) return new Set();
  const ledger = await openLedger({ file });
  try {
    if (only) await ledger.restrictTo(only);
    return new Set([...(await ledger.inFlight()), ...(await ledger.queued())].map((r) => r.channel));
  } finally {
    await ledger.close();
  }
}

function eventLine(e: DispatchEvent): string {
  switch (e.type) {
    case "planned":
      return `planned ${e.sends} sends in ${e.occurrences} occurrences (${e.heldOut} held out)${e.replanned ? `; ${e.replanned} planned again` : ""}${e.withdrawn ? `; ${e.withdrawn} pending sends withdrawn (no longer eligible)` : ""}\n`;
    case "retry":
      return e.count % 100 === 1 ? `retrying on ${e.channel}: ${e.code} (${e.count} retries so far)\n` : "";
    case "stop":
      return `channel ${e.channel} stopped for this run${e.reason ? ` (${e.reason})` : ""}: ${e.code} ${maskPhonesIn(e.message)}\n`;
    case "staff":
      return e.sent + e.failed + e.expired + e.waiting > 0
        ? `WeCom tasks waiting for staff: ${e.sent} sent, ${e.failed} failed, ${e.expired} expired (canceled), ${e.waiting} still waiting\n`
        : "";
    case "reconciled":
      return `reconciled sends left in flight: ${e.resolved} resolved, ${e.unknown} unknown (see chuda status)\n`;
    default:
      return "";
  }
}

/** The values of the channels' secrets, so that the TTY view can redact them from provider messages. */
function secretValues(project: Project, io: Io): string[] {
  return [...project.channels.values()].flatMap((c) => Object.values(c.env).map((name) => io.env[name] ?? "")).filter((v) => v.length >= 4);
}

/** A channel whose secrets are not in the environment: every send stops it for the run, saying which are missing. */
function missingCredentials(why: string): LoadedChannel["instance"] {
  return {
    async send(batch) {
      return batch.map(() => ({ status: "failed", class: "stop", code: "missing_credentials", message: `${why}; set them in the environment` }));
    },
    async close() {},
  };
}

/** Loads each channel's driver and reads its secrets from the environment (never printed). */
export async function loadChannels(project: Project, root: string, io: Io, unsettled: Set<string>, only?: string[]): Promise<Map<string, LoadedChannel>> {
  const out = new Map<string, LoadedChannel>();
  for (const [name, cfg] of project.channels) {
    if (only && !only.includes(name)) continue;
    const loaded = await loadDriver(cfg.driver, root);
    if (!loaded.driver) throw new UsageError(`channel ${name}: ${loaded.error}`, "check `driver:` in chuda.yaml");
    const secrets: Record<string, string> = {};
    const missing: string[] = [];
    for (const [secret, envName] of Object.entries(cfg.env)) {
      const v = io.env[envName];
      if (v === undefined || v === "") missing.push(`${envName} (${secret})`);
      else secrets[secret] = v;
    }
    for (const need of loaded.driver.secrets) if (!(need in cfg.env)) missing.push(`env.${need} in chuda.yaml`);
    if (missing.length) {
      const why = `channel ${name} needs ${missing.join(", ")}`;
      // Sends it left in flight or queued must be asked about with its credentials: nothing else can settle them.
      if (unsettled.has(name))
        throw new UsageError(
          `${why}: it has sends to settle from an earlier run`,
          "set the environment variables named under the channel's env: in chuda.yaml",
        );
      // Otherwise a channel is needed only if it has sends due: without credentials it stops for the run with why.
      out.set(name, { driver: loaded.driver, instance: missingCredentials(why) });
      continue;
    }
    // The channel's rate_limit, paced by the driver before every provider call (the runner reads the same gate).
    const gate = rateGate(cfg.rateLimit);
    const instance = loaded.driver.create({
      channel: name,
      secrets,
      baseUrl: cfg.baseUrl,
      options: cfg.options,
      now: () => Date.now(),
      timeoutMs: Number(cfg.options.timeout_ms ?? 10_000),
      root,
      acquire: gate.acquire,
    });
    out.set(name, { driver: loaded.driver, instance, gate });
  }
  return out;
}
