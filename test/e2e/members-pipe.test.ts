// The named pipe that carries a database's members into DuckDB must never keep the process from exiting: a signal
// that arrives before DuckDB opens the pipe, or while the pipe is full, ends the process at once (it used to hang
// for ever in `process.exit`, which waits for libuv's thread pool, where a FIFO's open and full writes blocked).
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { REPO } from "./cli.js";

const MODULE = pathToFileURL(path.join(REPO, "dist/members/database.js")).href;

/** Runs `body` in a fresh Node process with the pipe at `file` made; the process then exits with 143. */
async function exitWithPipe(file: string, body: string) {
  const script = `
    const { makePipe } = await import(${JSON.stringify(MODULE)});
    const made = makePipe(${JSON.stringify(file)});
    if (!made) { console.log("no-pipe"); process.exit(3); }
    ${body}
    setTimeout(() => process.exit(143), 200);
  `;
  return execa(process.execPath, ["--input-type=module", "-e", script], { reject: false, timeout: 30_000 });
}

describe("the members pipe", () => {
  it("keeps what was written and ended before the reader opened, and then ends", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "chuda-pipe-"));
    try {
      const { makePipe } = (await import(MODULE)) as typeof import("../../src/members/database.js");
      const writer = makePipe(path.join(dir, "p.csv"));
      expect(writer).toBeDefined();
      writer!.stream.write("member_id\nM1\n");
      writer!.end();
      await new Promise((r) => setTimeout(r, 100)); // the writer is done before anyone reads
      const read = await execa("cat", [writer!.path], { timeout: 30_000, reject: false });
      expect(read.timedOut).toBe(false);
      expect(read.stdout).toBe("member_id\nM1");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exits at once when nobody has opened the pipe yet", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "chuda-pipe-"));
    try {
      const r = await exitWithPipe(path.join(dir, "p.csv"), `made.stream.write("member_id\\n");`);
      expect(r.timedOut).toBe(false);
      expect(r.exitCode, r.stderr).toBe(143);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exits at once while the pipe is full and its reader has stopped reading", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "chuda-pipe-"));
    const file = path.join(dir, "p.csv");
    try {
      // Another process holds the pipe open for reading and never reads: the 4 MiB written stay mostly in the writer.
      const r = await exitWithPipe(
        file,
        `const { spawn } = await import("node:child_process");
         const { openSync, constants } = await import("node:fs");
         const idle = spawn("sleep", ["60"], { stdio: [openSync(${JSON.stringify(file)}, constants.O_RDONLY | constants.O_NONBLOCK), "ignore", "ignore"] });
         console.log(idle.pid);
         made.stream.write(Buffer.alloc(4 << 20, 65));`,
      );
      const idle = Number(String(r.stdout).trim());
      if (idle > 0) process.kill(idle, "SIGKILL");
      expect(r.timedOut).toBe(false);
      expect(r.exitCode, r.stderr).toBe(143);
      expect(idle).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
