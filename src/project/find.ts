/** Locating chuda.yaml: the nearest one upward from a directory (how `--project` defaults). */
import { statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export const PROJECT_FILE_NAME = "chuda.yaml";

/** The absolute path of the nearest `chuda.yaml` in `startDir` or one of its ancestors, or undefined. */
export function findProjectFile(startDir: string): string | undefined {
  let dir = resolve(startDir);
  for (;;) {
    const candidate = join(dir, PROJECT_FILE_NAME);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here; look one level up
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
