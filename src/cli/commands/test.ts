import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Option } from "commander";
import { listTestFiles, runTestFile, summarizeTests, type FileOutcome } from "../../campaign-tests/index.js";
import { renderTestsGithub, renderTestsJson, renderTestsPretty, TEST_FORMATS, type TestFormat } from "../../render/tests.js";
import { UsageError, type Io } from "../io.js";
import type { ChudaProgram } from "./program.js";
import { operationsMessages as O } from "../../diagnostics/messages/operations.js";
import { VERSION } from "../version.js";
import { loadWorkspace, requireValid } from "../workspace.js";
import { createDuckDB } from "../../members/duckdb.js";

export function registerTest(program: ChudaProgram, io: Io): void {
  program
    .command("test")
    .description("run the repository's campaign tests (tests/*.yaml) against the real planner")
    .argument("[paths...]", "test files or folders (default: tests/)")
    .addOption(new Option("--format <format>", "output format").choices(TEST_FORMATS).default("pretty"))
    .option("--run <regex>", "only tests whose name matches")
    .run(async (paths: string[], opts: { format: TestFormat; run?: string }) => {
      const ws = await loadWorkspace(program.opts().project, io);
      const project = requireValid(ws, io);
      let filter: RegExp | undefined;
      if (opts.run) {
        try {
          filter = new RegExp(opts.run);
        } catch {
          throw new UsageError(O.notARegex, [opts.run]);
        }
      }
      const roots = paths.length ? paths.map((p) => path.resolve(io.cwd, p)) : [path.join(ws.root, "tests")];
      const files: string[] = [];
      for (const r of roots) {
        if (!existsSync(r)) throw new UsageError(paths.length ? O.pathNotFound : O.testsFolderMissing, [path.relative(io.cwd, r) || r]);
        files.push(...(await listTestFiles(r)));
      }
      if (!files.length) throw new UsageError(O.noTestFiles);

      const sources = new Map(ws.sources);
      const instance = await createDuckDB(":memory:");
      const conn = await instance.connect();
      const outcomes: FileOutcome[] = [];
      try {
        for (const abs of [...new Set(files)]) {
          const rel = path.relative(ws.root, abs).split(path.sep).join("/");
          const text = await readFile(abs, "utf8");
          sources.set(rel, text);
          outcomes.push(
            await runTestFile(rel, text, { project, campaigns: ws.check.campaigns, exclude: ws.check.exclude, templates: ws.templates, conn }, filter),
          );
        }
      } finally {
        conn.closeSync();
        instance.closeSync();
      }
      const summary = summarizeTests(outcomes);
      const ropts = { color: io.color, sources, version: VERSION };
      if (opts.format === "json") io.out(renderTestsJson(outcomes, summary));
      else if (opts.format === "github") io.out(renderTestsGithub(outcomes, summary, ropts));
      else io.out(renderTestsPretty(outcomes, summary, ropts));
      return summary.failed || summary.errors ? 1 : 0;
    });
}
