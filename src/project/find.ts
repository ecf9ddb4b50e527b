/** Locating chuda.yaml: the nearest one upward from a directory (how `--project` defaults). */
import { statSync } from "node:fs";
import { readdir } from "node:fs/promises";
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

/**
 * Files under `dir` whose name matches, recursively and sorted; hidden folders and node_modules are skipped,
 * and a folder that cannot be read counts as empty (campaigns/, templates/ and tests/ are all optional).
 */
export async function listProjectFiles(dir: string, match: (name: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith(".") || e.name === "node_modules") continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (match(e.name)) out.push(p);
    }
  }
  await walk(dir);
  return out.sort();
}
