/**
 * The order campaign files were introduced in, oldest first, so that of two definitions of one name the newer
 * file's is reported (the author who just added it is the one to rename it). Files committed to git are ordered
 * by the commit that added them; files git does not know (new, uncommitted) come after them by modification time.
 * Without git, modification time alone; ties by name.
 */
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import path from "node:path";

export function introducedOrder(root: string, files: readonly string[]): string[] {
  const added = gitAddTimes(root);
  const key = (f: string): [number, number] => {
    const git = added.get(f);
    let mtime = Infinity;
    try {
      mtime = statSync(path.join(root, f)).mtimeMs;
    } catch {
      /* unreadable files are reported elsewhere */
    }
    return git === undefined ? [1, mtime] : [0, git];
  };
  const keys = new Map(files.map((f) => [f, key(f)]));
  return [...files].sort((a, b) => {
    const [ga, ta] = keys.get(a)!;
    const [gb, tb] = keys.get(b)!;
    return ga - gb || ta - tb || (a < b ? -1 : a > b ? 1 : 0);
  });
}

/** Path (relative to root) → seconds of the commit that added it; empty when root is not in a git work tree. */
function gitAddTimes(root: string): Map<string, number> {
  const out = new Map<string, number>();
  let log: string;
  try {
    log = execFileSync("git", ["log", "--diff-filter=A", "--format=%x00%ct", "--name-only", "--relative", "--", "campaigns"], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch {
    return out;
  }
  // Newest commit first: the last time seen for a path is the commit that first added it.
  for (const block of log.split("\0")) {
    const [time, ...names] = block.split("\n").filter(Boolean);
    for (const n of names) out.set(n, Number(time));
  }
  return out;
}
