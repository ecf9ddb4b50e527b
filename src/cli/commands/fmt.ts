import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { formatFile } from "../../language/index.js";
import { renderPretty } from "../../render/diagnostics/pretty.js";
import type { Io } from "../io.js";
import type { ChudaProgram } from "./program.js";
import { VERSION } from "../version.js";
import { decodeWithDiagnostic, listChudaFiles, resolveProjectFile, selectFiles } from "../workspace.js";
import { capPerFile } from "../../check/workspace.js";
import type { Diagnostic } from "../../diagnostics/types.js";
import { diag } from "../../diagnostics/diag.js";
import { languageMessages } from "../../diagnostics/messages/language.js";
import { pointSpan } from "../../diagnostics/span.js";
import { MAX_SOURCE_FILE_BYTES } from "../../language/source.js";

export function registerFmt(program: ChudaProgram, io: Io): void {
  program
    .command("fmt")
    .description("rewrite campaign files in the canonical layout")
    .argument("[paths...]", "files or folders (default: all of campaigns/)")
    .option("--check", "change nothing; list files that differ and exit 1")
    .run(async (paths: string[], opts: { check?: boolean }) => {
      const root = path.dirname(resolveProjectFile(program.opts().project, io));
      const files = (await selectFiles(root, paths, io)) ?? (await listChudaFiles(path.join(root, "campaigns")));
      let differ = 0;
      let broken = 0;
      for (const abs of files) {
        const rel = path.relative(io.cwd, abs) || abs;
        const file = path.relative(root, abs).split(path.sep).join("/");
        const bytes = await readFile(abs);
        // Too large, or not UTF-8: reported, never rewritten (a rewrite would turn broken bytes into U+FFFD).
        const refused: Diagnostic[] = [];
        if (bytes.length > MAX_SOURCE_FILE_BYTES) {
          const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
          refused.push(diag(languageMessages.fileTooLarge, pointSpan(file), [mb(bytes.length), mb(MAX_SOURCE_FILE_BYTES)]));
        }
        const text = refused.length ? "" : decodeWithDiagnostic(bytes, file, refused);
        const result = refused.length ? { diagnostics: refused, changed: false, text } : formatFile(text, file);
        if (result.diagnostics.some((d) => d.severity === "error")) {
          broken++;
          io.err(renderPretty(capPerFile(result.diagnostics), { sources: new Map([[file, text]]), files: 1, color: io.color, version: VERSION }));
          continue;
        }
        if (!result.changed) continue;
        differ++;
        if (opts.check) io.out(`${rel}\n`);
        else {
          await writeFile(abs, result.text);
          io.out(`formatted ${rel}\n`);
        }
      }
      if (opts.check && differ) io.err(`${differ} file${differ === 1 ? "" : "s"} not formatted; run \`chuda fmt\` to fix\n`);
      return broken || (opts.check && differ) ? 1 : 0;
    });
}
