/**
 * Worker threads that render distinct messages for the planner (render-worker.ts). Rendering a month of
 * campaigns over ten million members is a million Handlebars renders and rule checks, all plain CPU work
 * while DuckDB waits: one worker per spare core halves it on a 2-core machine. Small plans never start one.
 */
import { existsSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { RenderJob, SpecialMessage } from "./content.js";

/** Below this many distinct messages in a campaign, starting a worker costs more than it saves. */
export const POOL_MIN_MESSAGES = 20_000;

export class RenderPool {
  private next = 0;
  private nextJob = 0;
  private nextBatch = 0;
  private readonly pending_ = new Map<number, { resolve: (s: SpecialMessage[]) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  private closing = false;

  private constructor(private readonly workers: Worker[]) {
    for (const w of workers) {
      w.on("message", (m: { batch: number; special?: SpecialMessage[]; error?: string }) => {
        const p = this.pending_.get(m.batch);
        if (!p) return;
        this.pending_.delete(m.batch);
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve(m.special ?? []);
      });
      w.on("error", (e) => this.fail(e));
      w.on("exit", (code) => {
        if (code !== 0 && !this.closing) this.fail(new Error(`render worker exited with code ${code}`));
      });
    }
  }

  /** Workers for the spare cores (at least one), or undefined where the worker script is absent (tests from source). */
  static create(): RenderPool | undefined {
    const url = new URL("./render-worker.js", import.meta.url);
    if (url.protocol !== "file:" || !existsSync(fileURLToPath(url))) return undefined;
    const cores = os.availableParallelism?.() ?? os.cpus().length;
    const size = Math.max(1, Math.min(3, cores - 1));
    // As many as can start (resource limits); with none, the main thread renders everything.
    const workers: Worker[] = [];
    for (let i = 0; i < size; i++) {
      try {
        workers.push(new Worker(url));
      } catch {
        break;
      }
    }
    return workers.length ? new RenderPool(workers) : undefined;
  }

  /** Batches sent and not yet rendered. */
  get pending(): number {
    return this.pending_.size;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Sends a campaign's rendering context to every worker once. */
  start(job: RenderJob): number {
    const id = this.nextJob++;
    for (const w of this.workers) w.postMessage({ kind: "job", id, job });
    return id;
  }

  render(job: number, tids: number[], chs: number[], values: unknown[][]): Promise<SpecialMessage[]> {
    if (this.failure) return Promise.reject(this.failure);
    const batch = this.nextBatch++;
    const w = this.workers[this.next++ % this.workers.length]!;
    return new Promise((resolve, reject) => {
      this.pending_.set(batch, { resolve, reject });
      w.postMessage({ kind: "batch", job, batch, tids, chs, values });
    });
  }

  finish(job: number): void {
    for (const w of this.workers) w.postMessage({ kind: "done", id: job });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending_.values()) p.reject(e);
    this.pending_.clear();
  }
}
