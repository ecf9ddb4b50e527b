import { Option } from "commander";
import { writeSampleMembers } from "../../members/sample.js";
import { UsageError, type Io } from "../io.js";
import type { ChudaProgram } from "./program.js";
import { operationsMessages as O } from "../../diagnostics/messages/operations.js";
import { parseDateFlag, shown } from "../moment.js";
import { epochToZoned } from "../../calendar/time.js";
import { prepareOutput } from "../output.js";

/** The largest sample (about 10 GB of CSV): `--count 1e12` once filled a disk. */
export const MAX_SAMPLE_MEMBERS = 50_000_000;

export function registerSampleMembers(program: ChudaProgram, io: Io): void {
  program
    .command("sample-members")
    .description("generate a realistic member snapshot for demos, tests and benchmarks (deterministic by seed)")
    .requiredOption("--count <n>", "number of members")
    .option("--seed <n>", "random seed", "1")
    .requiredOption("--out <file>", "output file")
    .addOption(new Option("--format <format>", "file format").choices(["csv", "jsonl"]))
    .option("--as-of <date>", "the snapshot's day: registrations and purchases lie before it (default today)")
    .run(async (opts: { count: string; seed: string; out: string; format?: "csv" | "jsonl"; asOf?: string }) => {
      const count = Number(opts.count);
      const seed = Number(opts.seed);
      if (!Number.isInteger(count) || count < 1) throw new UsageError(O.countNotPositive, [shown(opts.count)]);
      if (count > MAX_SAMPLE_MEMBERS) {
        throw new UsageError(O.countTooLarge, [opts.count, MAX_SAMPLE_MEMBERS.toLocaleString("en-US")]);
      }
      if (!Number.isSafeInteger(seed)) throw new UsageError(O.seedNotWhole, [shown(opts.seed)]);
      const file = prepareOutput(opts.out, "--out", io);
      const format = opts.format ?? (file.endsWith(".jsonl") || file.endsWith(".ndjson") ? "jsonl" : "csv");
      // Recency is relative to the snapshot's day, so lifecycle campaigns find members in the coming month.
      const asOf = opts.asOf !== undefined ? parseDateFlag(opts.asOf, "--as-of") : epochToZoned(io.now(), "Asia/Shanghai").date;
      await writeSampleMembers(file, { count, seed, format, asOf });
      io.err(`wrote ${count.toLocaleString("en-US")} members to ${opts.out}\n`);
      return 0;
    });
}
