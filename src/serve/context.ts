/**
 * What every route of `chuda serve` works with: the loaded project, the ledger it writes (the same one dispatch
 * writes), the group commit in front of it, the clock and a logger that never sees a secret, token or full phone
 * number.
 */
import { pino, type Logger } from "pino";
import type { Project } from "../project/types.js";
import type { Ledger } from "../ledger/types.js";
import { GroupCommit } from "./commit.js";

export interface ServeContext {
  project: Project;
  /** Directory holding chuda.yaml. */
  root: string;
  /** SQLite (.chuda/state.db) or PostgreSQL (CHUDA_LEDGER_URL, `ledger: { url_env }`), as dispatch writes it. */
  ledger: Ledger;
  /** Epoch ms (CHUDA_NOW pins it in tests). */
  clock: () => number;
  logger: Logger;
  /** Environment variables: the channels' `env:` names resolve here (callback tokens, AES keys). */
  env: Record<string, string | undefined>;
  /** Every accepted request's writes go through it: committed, durably, before the request is answered. */
  commit: GroupCommit;
  /** Called after business events are committed (the event loop plans them at once). */
  onEvents?: (inserted: number) => void;
}

export function createServeContext(o: Omit<ServeContext, "commit" | "logger"> & { logger?: Logger; logLevel?: string }): ServeContext {
  const logger = o.logger ?? pino({ level: o.logLevel ?? "info", base: undefined }, pino.destination({ fd: 2, sync: false }));
  return { project: o.project, root: o.root, ledger: o.ledger, clock: o.clock, env: o.env, logger, commit: new GroupCommit(o.ledger) };
}

/** The value of a channel's `env:` entry, or undefined when the channel names none or the variable is unset. */
export function channelSecret(ctx: ServeContext, channel: string, name: string): string | undefined {
  const v = ctx.project.channels.get(channel)?.env[name];
  const value = v === undefined ? undefined : ctx.env[v];
  return value ? value : undefined;
}
