/**
 * Opens the member snapshot for a command: DuckDB load with a progress bar on a TTY, rejected rows reported
 * by reason with line numbers on stderr. A snapshot that cannot be read at all is a UsageError (exit 2).
 */
import path from "node:path";
import os from "node:os";
import { openSnapshot, snapshotFileProblem, type OpenSnapshotOptions, type OpenSnapshotResult } from "../members/snapshot.js";
import { snapshotCache } from "../members/cache.js";
import { databaseSource, looksLikeUrl, maskUrl, openDatabaseSnapshot } from "../members/database.js";
import { MESSAGES } from "../diagnostics/messages/index.js";
import type { CandidateCache, MemberTable } from "../plan/types.js";
import type { Project } from "../project/types.js";
import { renderPretty } from "../render/diagnostics/pretty.js";
import type { ProgressHandle } from "../render/ink/progress.js";
import { UsageError, type Io } from "./io.js";
import { operationsMessages as O } from "../diagnostics/messages/operations.js";
import { VERSION } from "./version.js";
import { maskSecrets } from "../project/member-schema.js";
import { format, type Diagnostic } from "../diagnostics/types.js";

export interface MembersOptions {
  /** A file, or a postgres:// / mysql:// URL; unset: the database of `members.source.url_env` in chuda.yaml. */
  members?: string;
  encoding?: "auto" | "utf-8" | "gbk";
  strict?: boolean;
  quiet?: boolean;
  /** `--no-cache` sets false. Only the commands that declare the option use the snapshot cache (not dispatch). */
  cache?: boolean;
}

export interface OpenedMembers {
  /** How messages name the members: the file as given, or the database URL with its password masked. */
  label: string;
  table: MemberTable;
  count: number;
  rejected: number;
  /**
   * With `deferKeyCheck`: whether the snapshot's keys are unique, checked on a connection of its own (start it
   * when DuckDB is idle). Resolves true at once when the load already checked them.
   */
  keysUnique(): Promise<boolean>;
  /** Removes duplicate keys found by `keysUnique`, reports them like any rejected row, and updates the counts. */
  repairKeys(): Promise<void>;
  progress?: ProgressHandle;
  /** With the snapshot cache: campaigns' candidates kept from earlier runs over this snapshot. */
  candidates?: () => Promise<CandidateCache | undefined>;
  close(): Promise<void>;
}

/** `presenceOnly`: text fields the command tests only for presence (see `OpenSnapshotOptions`). */
export async function openMembers(
  opts: MembersOptions,
  project: Project,
  io: Io,
  presenceOnly?: readonly string[],
  deferKeyCheck = false,
): Promise<OpenedMembers> {
  const input = membersInput(opts.members, project, io.env);
  // Ink (half a second to import) is loaded only for a terminal.
  const progress = io.interactive && !opts.quiet ? (await import("../render/ink/progress.js")).startProgress("chuda", { color: io.color }) : undefined;
  const options: OpenSnapshotOptions = {
    encoding: opts.encoding ?? "auto",
    strict: opts.strict,
    threads: os.availableParallelism?.() ?? os.cpus().length,
    // DuckDB's own cap (it spills beyond it); by default 80% of the machine's memory.
    ...(process.env.CHUDA_MEMORY_LIMIT ? { memoryLimit: process.env.CHUDA_MEMORY_LIMIT } : {}),
    ...(presenceOnly?.length ? { presenceOnly } : {}),
    // --strict fails on any rejected row before planning: it checks keys at once.
    deferKeyCheck: deferKeyCheck && !opts.strict,
    onProgress: (f) => progress?.update("loading members", Math.round(f * 1000), 1000),
  };
  let label: string;
  let opened: OpenSnapshotResult;
  if (input.kind === "file") {
    const file = path.resolve(io.cwd, input.file);
    label = fileLabel(input.file, io);
    opened = await openSnapshot(file, project, { ...options, label, ...(opts.cache === true ? { cache: snapshotCache(project.root, io.env) } : {}) });
  } else {
    label = maskSecrets(maskUrl(input.url));
    const source = databaseSource(input.url, project.members);
    if ("code" in source) {
      progress?.finish();
      throw new UsageError({
        code: source.code,
        severity: "error",
        message: `${maskSecrets(source.message)} [${source.code}]`,
        help: source.help ?? O.snapshotUnreadable.help,
      });
    }
    progress?.update("reading members from the database", 0, 1000);
    opened = await openDatabaseSnapshot(source, project, options);
  }
  const snap = opened.snapshot;
  if (!snap) {
    progress?.finish();
    const d = opened.diagnostics[0];
    throw d ? snapshotError(d, input.kind) : new UsageError(O.snapshotUnreadable, [label]);
  }
  progress?.update("loading members", 1000, 1000, `${snap.count.toLocaleString("en-US")} members${snap.cached ? " (cached)" : ""}`);
  // Diagnostics are printed once each (a key repair adds to them).
  const printed = new Set<string>();
  const report = () => {
    const fresh = snap.diagnostics.filter((d) => !printed.has(d.message));
    for (const d of fresh) printed.add(d.message);
    if (!fresh.length || opts.quiet) return;
    const shown = fresh.map((d) => ({ ...d, message: maskSecrets(d.message) }));
    const text = renderPretty(shown, { sources: new Map(), files: 1, color: io.color, version: VERSION }).replace(/\n[^\n]*files? checked[^\n]*\n$/, "\n");
    // While the bars are live, the diagnostics go above them instead of tearing them.
    if (progress) progress.log(text);
    else io.err(text);
  };
  report();
  const errors = opts.strict && snap.diagnostics.some((d) => d.severity === "error");
  if (errors) {
    progress?.finish();
    await snap.close();
    // The command cannot run on these members (exit 2, as for an unreadable snapshot); --json gets the failure too.
    throw new UsageError(O.strictRejected, [snap.rejectedTotal]);
  }
  let unique: Promise<boolean> | undefined;
  const handle: OpenedMembers = {
    label,
    table: { conn: snap.conn, table: snap.table, count: snap.count },
    count: snap.count,
    rejected: snap.rejectedTotal,
    progress,
    keysUnique: () => (unique ??= snap.keyCheck ? snap.keyCheck.run() : Promise.resolve(true)),
    repairKeys: async () => {
      if (!snap.keyCheck) return;
      await snap.keyCheck.repair();
      Object.assign(handle, { count: snap.count, rejected: snap.rejectedTotal });
      handle.table.count = snap.count;
      report();
    },
    close: () => snap.close(),
  };
  if (snap.candidates) handle.candidates = snap.candidates;
  return handle;
}

/**
 * Refuses at once, as reading it would, a snapshot file that cannot be read at all (missing, not a file, not a format
 * chuda reads): for a command that reads the snapshot only once it needs it, a mistyped path is still told at the start.
 */
export function requireMembersFile(opts: MembersOptions, project: Project, io: Io): void {
  const input = membersInput(opts.members, project, io.env);
  if (input.kind !== "file") return;
  const d = snapshotFileProblem(path.resolve(io.cwd, input.file), fileLabel(input.file, io));
  if (d) throw snapshotError(d, "file");
}

/** How messages name a snapshot file: relative to the working directory; a password typed into it (a mangled URL) masked. */
function fileLabel(file: string, io: Io): string {
  return maskSecrets(path.relative(io.cwd, path.resolve(io.cwd, file)) || file);
}

/** A snapshot's problem as the command's error; a database's carries its code (CH60xx) in the text too, to look up in docs/diagnostics.md. */
function snapshotError(d: Diagnostic, kind: MembersInput["kind"]): UsageError {
  return new UsageError({
    code: d.code,
    severity: "error",
    message: maskSecrets(kind === "database" ? `${d.message} [${d.code}]` : d.message),
    help: d.help ?? O.snapshotUnreadable.help,
  });
}

export type MembersInput = { kind: "file"; file: string } | { kind: "database"; url: string };

/**
 * What --members names: a file, or a database URL (postgres://, mysql:// …). Without --members, the database of
 * `members.source.url_env` in chuda.yaml; without either, a usage error.
 */
export function membersInput(members: string | undefined, project: Project, env: NodeJS.ProcessEnv): MembersInput {
  if (members !== undefined) {
    if (looksLikeUrl(members.trim())) return { kind: "database", url: members.trim() };
    const mangled = notAUrl(members);
    if (mangled) {
      const code = MESSAGES.membersDbBadUrl.code;
      const message = `${format(MESSAGES.membersDbBadUrl.message, [maskSecrets(maskUrl(members.trim()))])} [${code}]`;
      throw new UsageError({ code, severity: "error", message, help: mangled });
    }
    return { kind: "file", file: members };
  }
  const name = project.members.source?.urlEnv;
  if (!name) throw new UsageError(O.membersNone);
  const url = env[name]?.trim();
  if (!url)
    throw new UsageError(
      { ...MESSAGES.membersDbEnvUnset, message: `${MESSAGES.membersDbEnvUnset.message.replace("{0}", name)} [${MESSAGES.membersDbEnvUnset.code}]` },
      [name],
    );
  return { kind: "database", url };
}

/**
 * Why a --members value that is not a `scheme://` URL is still meant for a database (so it is refused as a URL, not
 * read as a file): a database scheme without `//` (`postgres:/user:pw@host/db`), or a libpq key=value string
 * (`host=… user=… password=… dbname=…`). The hint to give, or undefined for a file path.
 */
function notAUrl(value: string): string | undefined {
  const v = value.trim();
  if (/^(?:postgres|postgresql|mysql|mariadb):/i.test(v))
    return "a database URL begins with its scheme and `//`: write postgres://user:password@host:5432/database (also postgresql://) or mysql://user:password@host:3306/database (also mariadb://)";
  const key = (k: string) => new RegExp(`(?:^|\\s)${k}\\s*=`, "i").test(v);
  if (/password\s*=/i.test(v) || (key("host") && (key("dbname") || key("user"))))
    return "a libpq connection string (`host=… dbname=…`) is not read: write it as a URL, postgres://user:password@host:5432/database";
  return undefined;
}
