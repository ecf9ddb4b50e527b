/**
 * Files a command writes (`--plan`, `--report`, `--html`): the folder is made, and a path that cannot be
 * written is refused, before the work starts; a write that still fails says what and where, never a stack.
 */
import { accessSync, constants, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { UsageError, type Io } from "./io.js";
import { operationsMessages as O } from "../diagnostics/messages/operations.js";

/** The absolute path of an output file, its folder created (like `mkdir -p`); a UsageError if it cannot be written. */
export function prepareOutput(file: string, flag: string, io: Io): string {
  const abs = path.resolve(io.cwd, file);
  const dir = path.dirname(abs);
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new UsageError(O.outputFolderUnwritable, [flag, file, path.relative(io.cwd, dir) || dir, (e as NodeJS.ErrnoException).code ?? (e as Error).message]);
  }
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    /* a new file */
  }
  if (isDir) throw new UsageError(O.outputIsFolder, [flag, file]);
  return abs;
}

/** Runs the write of an output file; an I/O failure (disk full, permissions) becomes a one-line UsageError. */
export async function writeOutput(file: string, flag: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!code) throw e;
    throw new UsageError(O.outputWriteFailed, [flag, file, code]);
  }
}
