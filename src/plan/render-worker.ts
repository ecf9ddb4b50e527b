/** A render worker (see render-pool.ts): renders batches of distinct messages for the planner. */
import { parentPort } from "node:worker_threads";
import { renderTuples, type RenderJob } from "./content.js";

const jobs = new Map<number, RenderJob>();

parentPort?.on(
  "message",
  (
    m:
      | { kind: "job"; id: number; job: RenderJob }
      | { kind: "batch"; job: number; batch: number; tids: number[]; chs: number[]; values: unknown[][] }
      | { kind: "done"; id: number },
  ) => {
    if (m.kind === "job") jobs.set(m.id, m.job);
    else if (m.kind === "done") jobs.delete(m.id);
    else {
      try {
        parentPort!.postMessage({ batch: m.batch, special: renderTuples(jobs.get(m.job)!, m.tids, m.chs, m.values) });
      } catch (e) {
        parentPort!.postMessage({ batch: m.batch, error: (e as Error).message });
      }
    }
  },
);
