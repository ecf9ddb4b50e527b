import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { UsageError, type Io } from "../io.js";
import type { ChudaProgram } from "./program.js";
import { operationsMessages as O } from "../../diagnostics/messages/operations.js";
import { scaffoldFor } from "../scaffold.js";
import { epochToZoned } from "../../calendar/time.js";

export function registerInit(program: ChudaProgram, io: Io): void {
  program
    .command("init")
    .description("create a campaign repository that validates and simulates at once")
    .argument("[dir]", "folder to create it in", ".")
    .run(async (dir: string) => {
      const root = path.resolve(io.cwd, dir);
      if (existsSync(path.join(root, "chuda.yaml"))) throw new UsageError(O.alreadyInitialised, [dir]);
      // The scaffold's chuda.yaml is in Asia/Shanghai: "today" there.
      for (const [rel, text] of Object.entries(scaffoldFor(epochToZoned(io.now(), "Asia/Shanghai").date))) {
        const file = path.join(root, rel);
        if (existsSync(file)) continue;
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, text);
        io.out(`created ${path.relative(io.cwd, file) || rel}\n`);
      }
      const cd = path.relative(io.cwd, root);
      io.out(`\nnext:\n${cd ? `  cd ${cd}\n` : ""}  chuda validate\n  chuda simulate --members members.sample.csv\n`);
      return 0;
    });
}
