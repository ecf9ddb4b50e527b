import { existsSync, readFileSync } from "node:fs";
import { Option } from "commander";
import { acquireLock } from "../../dispatch/lock.js";
import { checkLedgerIdentity, LedgerFileError, ledgerMarkerPath, ledgerPath, writeLedgerMarker } from "../../dispatch/ledger.js";
import { ledgerExists, ledgerLocation, openLedger, type LedgerLocation } from "../../ledger/open.js";
import { PostgresLedger } from "../../ledger/postgres.js";
import { isPostgresFailure, postgresError } from "../../ledger/select.js";
import { SHARED_RATE_MARGIN_MS, sharedRateGate } from "../../ledger/shared-rate.js";
import { ledgerTokenStore } from "../../dispatch/token-store.js";
import type { TokenStore } from "../../drivers/types.js";
import { pullableChannels, pullReceipts, type PullSummary } from "../../receipts/run.js";
import { drySends, planDue, RATE_MARGIN_MS, rateGate, runDispatch, type DispatchEvent, type LoadedChannel } from "../../dispatch/runner.js";
import { loadDriver } from "../../drivers/registry.js";
import { renderDispatchDryRun, renderDispatchSummary } from "../../render/dispatch.js";
import { maskPhonesIn } from "../../render/mask.js";
import { dispatchDryRunJson, dispatchSummaryJson } from "../../render/dispatch-json.js";
import { formatLocalTime } from "../../calendar/time.js";
import type { startDispatchView } from "../../render/ink/dispatch.js";
import { UsageError, type Io } from "../io.js";
import type { ChudaProgram } from "./program.js";
import { operationsMessages as O } from "../../diagnostics/messages/operations.js";
import { parseMoment } from "../moment.js";
import { loadWorkspace, requireValid, selectCampaigns } from "../workspace.js";
import { onInterrupt, type InterruptSignal } from "../signals.js";
import { openMembers, requireMembersFile, type MembersOptions, type OpenedMembers } from "../members.js";
import type { Project } from "../../project/types.js";
import { dispatchTests, type TestSendOptions } from "./test-send.js";
import { contentRefused } from "../../dispatch/plan-rows.js";

/** How far past the clock `--at` may be (clock skew between machines) before a real run refuses it. */
const FUTURE_TOLERANCE_MS = 5 * 60_000;

export function registerDispatch(program: ChudaProgram, io: Io): void {
  program
    .command("dispatch")
    .description("send what is due: resumable, idempotent, locked against a second run")
    .argument("[campaign]", "with --test-to: the campaign whose message the staff get")
    .option("--members <file|url>", "member snapshot: CSV (UTF-8 or GBK), JSON Lines or Parquet, or a postgres:// or mysql:// URL (default: members.source)")
    .option("--at <moment>", "the run's moment (default now)")
    .option("--dry-run", "send nothing and write nothing; print what would go out")
    .option("--only <campaigns...>", "only these campaigns")
    .option("--json", "machine-readable summary")
    .addOption(new Option("--encoding <enc>", "snapshot encoding").choices(["auto", "utf-8", "gbk"]).default("auto"))
    .option("--strict", "any rejected snapshot row stops the run")
    .option("--new-ledger", "accept a missing or different ledger (.chuda/state.db) and make it this repository's")
    .option("--allow-shrink", "run even if the snapshot has half the members of the last run's or fewer")
    .option("--test-to <file>", "send CAMPAIGN's message for real to the staff in this member-format file (a test before launch)")
    .run(
      async (
        campaignName: string | undefined,
        opts: MembersOptions & { at?: string; dryRun?: boolean; only?: string[]; json?: boolean; allowShrink?: boolean; testTo?: string; newLedger?: boolean },
      ) => {
        const ws = await loadWorkspace(program.opts().project, io);
        const project = requireValid(ws, io);
        if (opts.testTo) return await dispatchTests(ws, project, campaignName, opts as TestSendOptions, io);
        if (campaignName) throw new UsageError(O.campaignWithoutTestTo, [campaignName]);
        if (!opts.members && !project.members.source?.urlEnv) throw new UsageError(O.membersRequired);
        // An unset url_env, a snapshot file that is not there: refused before the lock and the channels.
        requireMembersFile(opts, project, io);
        const campaigns = selectCampaigns(ws, opts.only ?? []);
        const at = opts.at !== undefined ? parseMoment(opts.at, project.timezone) : io.now();
        // A real run at a later moment would send what is not due yet (and its sends would never be sent at T again).
        if (!opts.dryRun && at > io.now() + FUTURE_TOLERANCE_MS) throw new UsageError(O.atInFuture, [opts.at!, new Date(io.now()).toISOString()]);

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
        const interruptedBeforeRun = () => new UsageError(O.interruptedBeforeRun, [signalled!]);
        // CHUDA_LEDGER_URL or `ledger.url_env`: a PostgreSQL ledger several workers share; else .chuda/state.db.
        const where = ledgerLocation(ws.root, io.env, project);
        const lock = opts.dryRun ? undefined : acquireLock(ws.root, io.now());
        if (lock && !lock.ok) throw lock.pid ? new UsageError(O.lockHeld, [lock.pid, lock.since ?? ""]) : new UsageError(O.lockHeldByUnknown);
        try {
          if (!where.url) requireLedgerIdentity(ws.root, !!opts.newLedger);
        } catch (e) {
          if (lock?.ok) lock.release();
          throw e;
        }
        const tokens = ledgerTokenStore();
        const channels = opts.dryRun
          ? new Map<string, LoadedChannel>()
          : await loadChannels(
              project,
              ws.root,
              io,
              await unsettledChannels(where, opts.only?.length ? campaigns.map((c) => c.name) : undefined),
              undefined,
              tokens,
              where.url,
            );
        const giveUp = async () => {
          for (const c of channels.values()) await c.instance.close().catch(() => undefined);
          if (lock?.ok) lock.release();
          unhook();
        };
        // The snapshot is read when the run's plan needs it: a worker whose due occurrences another worker planned, or
        // a scheduled run with nothing due, never reads it. A dry run, and a run on a terminal (whose progress bars
        // show the reading before the run's own view starts), read it first.
        let members: OpenedMembers | undefined;
        const readMembers = async (): Promise<OpenedMembers> => {
          const m = (members = await openMembers(opts, project, io));
          // --strict: any rejected row stops the run before anything is planned.
          if (opts.strict && m.rejected > 0) throw new UsageError(O.strictRejected, [m.rejected]);
          return m;
        };
        if (opts.dryRun || io.interactive) {
          try {
            await readMembers();
          } catch (e) {
            // An unreadable snapshot, rejected rows under --strict: nothing ran; the lock and the channels go.
            await members?.close();
            await giveUp();
            throw e;
          }
          if (signalled) {
            await members?.close();
            if (lock?.ok) lock.release();
            throw interruptedBeforeRun();
          }
        }
        // A dry run reads an existing ledger (caps, occurrences already planned) but writes nothing.
        const file = ledgerPath(ws.root);
        const ledger = await openLedger(where.url ? where : { file: opts.dryRun && !existsSync(file) ? ":memory:" : file });
        tokens.attach(ledger);
        if (where.url) {
          try {
            requireLedgerIdentityOf(ws.root, ledger.id, !!opts.newLedger);
          } catch (e) {
            await ledger.close();
            await members?.close();
            if (lock?.ok) lock.release();
            throw e;
          }
        }
        // `--only`: the run sends nothing of other campaigns, not even their sends pending since an earlier run.
        if (opts.only?.length) await ledger.restrictTo(campaigns.map((c) => c.name));
        if (!opts.dryRun) writeLedgerMarker(ws.root, ledger.id);
        // A truncated nightly export must not quietly narrow every campaign: half the last run's members or fewer stops.
        const checkShrink = async (m: OpenedMembers) => {
          const last = await ledger.lastSnapshotSize();
          if (!last || m.count * 2 > last || opts.allowShrink) return;
          const shrank = new UsageError(O.snapshotShrank, [m.count.toLocaleString("en-US"), last.toLocaleString("en-US")]);
          if (!opts.dryRun) throw shrank;
          io.err(`warning: ${shrank.message}; a real run would stop (${shrank.hint})\n`);
        };
        let view: ReturnType<typeof startDispatchView> | undefined;
        try {
          if (members) await checkShrink(members);
          if (opts.dryRun) {
            const input = { project, campaigns, exclude: ws.check.exclude, templates: ws.templates, members: members!.table, at, ledger };
            const { plan, missed } = await planDue(input);
            members!.progress?.finish();
            // Sends pending since earlier runs go out too: shown with the new ones.
            const dry = await drySends(input, plan);
            if (opts.json) io.out(JSON.stringify(dispatchDryRunJson(at, dry, missed), null, 2) + "\n");
            else io.out(renderDispatchDryRun(dry, missed, project, { color: io.color, at }));
            return 0;
          }
          // On a TTY: the live Ink view of the run (stderr); otherwise plain log lines.
          members?.progress?.finish();
          // Ink (half a second to import) is loaded only for a terminal.
          view = io.interactive
            ? (await import("../../render/ink/dispatch.js")).startDispatchView({
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
            members:
              members?.table ??
              (async () => {
                const m = await readMembers();
                await checkShrink(m);
                return m.table;
              }),
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
          if (!summary.interrupted && pullable.length)
            receipts = await pullReceipts(project, ledger, io.env, () => io.now(), pullableChannels(project, pullable)).catch((e: Error) => {
              io.err(`chuda: pulling delivery receipts failed: ${e.message}\n`);
              return [];
            });
          view?.finish(summary);
          if (opts.json) io.out(JSON.stringify({ ...dispatchSummaryJson(summary), ...(receipts.length ? { receipts } : {}) }, null, 2) + "\n");
          else {
            io.out(renderDispatchSummary(summary, { color: io.color, timezone: project.timezone }));
            for (const r of receipts) io.out(`receipts pulled for ${r.channel}: ${r.delivered} delivered, ${r.failed} failed (of ${r.asked} without one)\n`);
          }
          if (summary.interrupted) {
            io.err(`chuda: interrupted by ${signalled}: the calls in flight finished and were recorded; ${summary.pending} sends wait for the next run\n`);
            return 2;
          }
          // Exit 1 for cron's mail when something is left to retry or to look at: sends pending (an outage, a quota, quiet
          // hours), unknown or expired, a stopped channel, occurrences missed, sends held by a run not heard from, content
          // the channel refuses (the campaign's to fix). A member's own failure (an invalid number) is listed but is not
          // the run's: exit 0.
          const refused = contentRefused(summary.failures).length > 0;
          return summary.unknown ||
            summary.pending ||
            summary.expired ||
            summary.stopped.length ||
            summary.missed.length ||
            summary.in_flight_elsewhere.silent ||
            refused
            ? 1
            : 0;
        } catch (e) {
          if (e instanceof LedgerFileError) throw new UsageError(O.ledgerFileChanged, [e.message]);
          // The shared ledger's server went away mid-run: one line (exit 2); the sends this run left in flight are
          // reconciled by the next run once this one's heartbeat is seen to have stopped.
          if (where.url && isPostgresFailure(e)) throw postgresError(e, where.url, true);
          throw e;
        } finally {
          members?.progress?.finish();
          view?.finish();
          for (const c of channels.values()) await c.instance.close().catch(() => undefined);
          await ledger.close();
          await members?.close();
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
  if (id.problem === "missing") throw new UsageError(O.ledgerMissing, [id.expected]);
  throw id.found ? new UsageError(O.ledgerOfAnotherHistory, [id.found, id.expected]) : new UsageError(O.ledgerWithoutId, [id.expected]);
}

/**
 * Refuses (exit 2) a shared (PostgreSQL) ledger whose id is not the one this repository's dispatches wrote (see
 * `.chuda/ledger-id`): a URL pointing at another history would send again what was sent.
 */
export function requireLedgerIdentityOf(root: string, id: string, newLedger: boolean): void {
  if (newLedger) return;
  const marker = ledgerMarkerPath(root);
  if (!existsSync(marker)) return;
  const expected = readFileSync(marker, "utf8").trim();
  if (expected === id) return;
  throw new UsageError(O.ledgerUrlForeign, [id, expected]);
}

/** Channels with sends in flight (any campaign) or queued (of the run's campaigns) in the ledger, from earlier runs. */
async function unsettledChannels(where: LedgerLocation, only: string[] | undefined): Promise<Set<string>> {
  if (!ledgerExists(where)) return new Set();
  const ledger = await openLedger(where);
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
/** `tokens`: where the WeChat and WeCom drivers share access tokens with other processes (the run's ledger). */
export async function loadChannels(
  project: Project,
  root: string,
  io: Io,
  unsettled: Set<string>,
  only?: string[],
  tokens?: TokenStore,
  sharedLedgerUrl?: string,
): Promise<Map<string, LoadedChannel>> {
  // Several workers on a PostgreSQL ledger share each channel's rate budget through it (one connection for all).
  let shared: PostgresLedger | undefined;
  const sharedGate = async (channel: string, rate: number) => {
    shared ??= await PostgresLedger.open(sharedLedgerUrl!);
    const n = Math.max(1, Math.floor(rate));
    const window = (rate >= 1 ? 1000 : 1000 / rate) + Math.max(RATE_MARGIN_MS, SHARED_RATE_MARGIN_MS);
    const ledger = shared;
    return sharedRateGate((count) => ledger.bookRate(channel, n, window, count), n);
  };
  const out = new Map<string, LoadedChannel>();
  for (const [name, cfg] of project.channels) {
    if (only && !only.includes(name)) continue;
    const loaded = await loadDriver(cfg.driver, root);
    if (!loaded.driver) throw new UsageError(O.driverNotLoaded, [name, loaded.error ?? ""]);
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
      if (unsettled.has(name)) throw new UsageError(O.credentialsMissing, [name, missing.join(", ")]);
      // Otherwise a channel is needed only if it has sends due: without credentials it stops for the run with why.
      out.set(name, { driver: loaded.driver, instance: missingCredentials(why) });
      continue;
    }
    // The channel's rate_limit, paced by the driver before every provider call (the runner reads the same gate).
    const gate = sharedLedgerUrl && cfg.rateLimit ? await sharedGate(name, cfg.rateLimit) : rateGate(cfg.rateLimit);
    const instance = loaded.driver.create({
      channel: name,
      secrets,
      baseUrl: cfg.baseUrl,
      options: cfg.options,
      now: () => Date.now(),
      timeoutMs: Number(cfg.options.timeout_ms ?? 10_000),
      root,
      acquire: gate.acquire,
      tokens,
    });
    out.set(name, { driver: loaded.driver, instance, gate });
  }
  if (shared) {
    // The rate budget's connection closes with the channels (after the run).
    const ledger: PostgresLedger = shared;
    for (const c of out.values()) {
      const close = c.instance.close.bind(c.instance);
      c.instance.close = async () => {
        await close();
        await ledger.close();
      };
    }
  }
  return out;
}
