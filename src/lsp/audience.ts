/**
 * A campaign's audience size and reach funnel for the language server's hover, from the member snapshot the
 * editor names (`members` in the initialization options; the VS Code setting `chuda.members`).
 *
 * The snapshot is opened once (through the snapshot cache, so a file `simulate` already loaded opens in a
 * fraction of its parse time) and kept open; it is opened again when the file or the member schema changes.
 * The audience size is one count over the loaded table, each top-level `and` condition narrowing it, as of
 * today. The reach funnel is the simulation's (`plan` over the next 30 days, one campaign): it takes longer,
 * so a hover shows the last one computed for the campaign as written and starts the next in the background.
 */
import os from "node:os";
import path from "node:path";
import { statSync } from "node:fs";
import { addDays, epochToZoned } from "../calendar/time.js";
import type { IR, ResolvedCampaign } from "../resolved/types.js";
import { compileAudience } from "../members/compile.js";
import { irText } from "../members/explain.js";
import { snapshotCache } from "../members/cache.js";
import { openSnapshot, type Snapshot } from "../members/snapshot.js";
import { plan } from "../plan/plan.js";
import type { Funnel } from "../plan/types.js";
import type { Project } from "../project/types.js";
import type { Analysis } from "./analysis.js";

/** Days ahead the hover's reach funnel simulates, like `chuda simulate` without dates. */
const FUNNEL_DAYS = 30;

export interface AudienceCount {
  total: number;
  audience: number;
  /** Each top-level condition as written, and the members left after it (and every one before it). */
  steps: { condition: string; left: number }[];
  today: string;
}

/** The planner's funnel of one campaign, summed over its occurrences from `from` to `to`. */
export interface ReachFunnel extends Pick<Funnel, "audience" | "holdout" | "unreachable" | "capped" | "sends" | "byChannel"> {
  from: string;
  to: string;
  occurrences: number;
}

export class MemberSnapshotForHover {
  private opening?: Promise<Snapshot | string>;
  private openedFor?: string;
  /** campaign identity (name + resolved text) → its funnel, or the computation under way. */
  private readonly funnels = new Map<string, ReachFunnel>();
  private runningKey?: string;
  private queued?: { key: string; run: () => Promise<ReachFunnel | undefined> };
  /** audience + day → its count, for the snapshot open now. */
  private readonly counts = new Map<string, AudienceCount>();

  constructor(
    /** As the editor gave it: absolute, or relative to the project root. */
    private readonly file: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  private abs(project: Project): string {
    return path.resolve(project.root, this.file);
  }

  /** The open snapshot for this project's schema, or why there is none (a line for the hover). */
  async snapshot(project: Project): Promise<Snapshot | string> {
    const abs = this.abs(project);
    let identity: string;
    try {
      const st = statSync(abs);
      identity = JSON.stringify([abs, st.size, st.mtimeMs, [...project.members.fields.entries()], project.members.key]);
    } catch {
      return `member snapshot ${this.file} not found`;
    }
    if (this.opening && this.openedFor === identity) return this.opening;
    const previous = this.opening;
    this.openedFor = identity;
    this.funnels.clear();
    this.counts.clear();
    this.opening = (async () => {
      const old = await previous;
      if (old && typeof old !== "string") await old.close();
      const r = await openSnapshot(abs, project, {
        label: this.file,
        cache: snapshotCache(project.root, this.env),
        threads: os.availableParallelism?.() ?? os.cpus().length,
      });
      if (!r.snapshot) return r.diagnostics[0]?.message ?? `cannot read ${this.file}`;
      if (r.snapshot.keyCheck && !(await r.snapshot.keyCheck.run())) await r.snapshot.keyCheck.repair();
      return r.snapshot;
    })();
    return this.opening;
  }

  /** Members in the campaign's audience today, narrowed condition by condition (kept per audience and day). */
  async audience(project: Project, campaign: ResolvedCampaign, now: number): Promise<AudienceCount | string> {
    const snap = await this.snapshot(project);
    if (typeof snap === "string") return snap;
    const today = epochToZoned(now, project.timezone).date;
    const key = JSON.stringify([campaign.audience, today]);
    const known = this.counts.get(key);
    if (known) return known;
    const counted = await this.count(snap, project, campaign, now, today);
    if (this.counts.size > 200) this.counts.clear();
    this.counts.set(key, counted);
    return counted;
  }

  private async count(snap: Snapshot, project: Project, campaign: ResolvedCampaign, now: number, today: string): Promise<AudienceCount> {
    const zoned = epochToZoned(now, project.timezone);
    const nowValue = `${zoned.date} ${zoned.time}`;
    const parts = conjuncts(campaign.audience);
    const compiled = parts.map((p) => compileAudience(p, project.members, { todayValue: today, nowValue, project }));
    let where = "TRUE";
    const columns = compiled.map((c) => {
      where = `${where} AND COALESCE((${c.sql}), FALSE)`;
      return `count(*) FILTER (WHERE ${where})`;
    });
    // Each FILTER repeats the conditions before it, so their parameters repeat in the same order.
    const bound: unknown[] = [];
    let upTo: unknown[] = [];
    for (const c of compiled) {
      upTo = [...upTo, ...c.params];
      bound.push(...upTo);
    }
    const row = (await snap.conn.runAndReadAll(`SELECT count(*)${columns.map((c) => `, ${c}`).join("")} FROM ${snap.table}`, bound as never)).getRows()[0]!;
    const counts = row.map((v) => Number(v));
    const steps = parts.map((p, i) => ({ condition: irText(p), left: counts[i + 1]! }));
    return { total: counts[0]!, audience: steps.length ? steps[steps.length - 1]!.left : counts[0]!, steps, today };
  }

  /**
   * The reach funnel of the campaign as written, if one is ready; otherwise it is queued and undefined returned
   * (the next hover shows it). One funnel is simulated at a time, and only the latest asked waits: typing does
   * not pile up simulations of versions nobody hovers any more.
   */
  funnel(a: Analysis, campaign: ResolvedCampaign, now: number): ReachFunnel | undefined {
    const key = funnelKey(campaign);
    const known = this.funnels.get(key);
    if (known) return known;
    if (this.runningKey === key || this.queued?.key === key) return undefined;
    this.queued = { key, run: () => this.computeFunnel(a, campaign, now) };
    if (!this.runningKey) void this.pump();
    return undefined;
  }

  private async pump(): Promise<void> {
    while (this.queued) {
      const { key, run } = this.queued;
      this.queued = undefined;
      this.runningKey = key;
      try {
        const f = await run();
        if (f) {
          if (this.funnels.size > 100) this.funnels.clear();
          this.funnels.set(key, f);
        }
      } catch {
        // A funnel that cannot be simulated (the snapshot went away) is simply not shown.
      } finally {
        this.runningKey = undefined;
      }
    }
  }

  private async computeFunnel(a: Analysis, campaign: ResolvedCampaign, now: number): Promise<ReachFunnel | undefined> {
    const project = a.project;
    if (!project) return undefined;
    const snap = await this.snapshot(project);
    if (typeof snap === "string") return undefined;
    const from = epochToZoned(now, project.timezone).date;
    const to = addDays(from, FUNNEL_DAYS - 1);
    const result = await plan({
      project,
      campaigns: [campaign],
      exclude: a.check.exclude,
      templates: a.templates,
      members: { conn: snap.conn, table: snap.table, count: snap.count },
      from,
      to,
      history: [],
      // Rendering prices messages; only a budget needs prices to decide who is sent.
      render: campaign.budget !== undefined,
    });
    const out: ReachFunnel = { from, to, occurrences: 0, audience: 0, holdout: 0, unreachable: 0, capped: 0, sends: 0, byChannel: {} };
    for (const o of result.occurrences) {
      if (o.campaign.name !== campaign.name) continue;
      out.occurrences++;
      out.audience += o.funnel.audience;
      out.holdout += o.funnel.holdout;
      out.unreachable += o.funnel.unreachable;
      out.capped += o.funnel.capped;
      out.sends += o.funnel.sends;
      for (const [ch, k] of Object.entries(o.funnel.byChannel)) out.byChannel[ch] = (out.byChannel[ch] ?? 0) + k;
    }
    return out;
  }

  async close(): Promise<void> {
    const s = await this.opening;
    if (s && typeof s !== "string") await s.close();
    this.opening = undefined;
  }
}

/** The campaign as written, without where it sits in its file (an edit above it changes only spans). */
function funnelKey(c: ResolvedCampaign): string {
  return JSON.stringify({ ...c, span: undefined, file: undefined }, (k, v) => (k === "span" ? undefined : v));
}

function conjuncts(ir: IR): IR[] {
  return ir.op === "and" ? ir.args.flatMap(conjuncts) : [ir];
}

const n = (x: number) => x.toLocaleString("en-US");

/** The hover's lines for a campaign's audience and funnel. */
export function audienceLines(count: AudienceCount | string, funnel: ReachFunnel | undefined): string[] {
  if (typeof count === "string") return [`audience: ${count}`];
  const lines = [`**audience today (${count.today}): ${n(count.audience)}** of ${n(count.total)} members`];
  if (count.steps.length > 1) for (const s of count.steps) lines.push(`- ${s.condition}: ${n(s.left)}`);
  if (funnel)
    lines.push(
      `reach ${funnel.from} – ${funnel.to} (${funnel.occurrences} occurrence${funnel.occurrences === 1 ? "" : "s"}): ` +
        `audience ${n(funnel.audience)} → holdout ${n(funnel.holdout)} · unreachable ${n(funnel.unreachable)} · capped ${n(funnel.capped)} → **sends ${n(funnel.sends)}**` +
        (Object.keys(funnel.byChannel).length
          ? ` (${Object.entries(funnel.byChannel)
              .map(([ch, k]) => `${ch} ${n(k)}`)
              .join(", ")})`
          : ""),
    );
  else lines.push("reach funnel: simulating the next 30 days… hover again");
  return lines;
}
