/** `chuda serve` as a child process of a test: started on a free port, stopped by a signal or killed. */
import { execa, type ResultPromise } from "execa";
import { BIN } from "./cli.js";
import type { TestRepo } from "./dispatch-helpers.js";

export interface Served {
  url: string;
  proc: ResultPromise;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | undefined>;
  kill9(): Promise<void>;
}

export async function startServe(repo: TestRepo, extra: string[] = [], env: Record<string, string> = {}): Promise<Served> {
  const proc = execa("node", [BIN, "serve", "--port", "0", ...extra], { cwd: repo.dir, env: { ...repo.env, ...env }, reject: false, buffer: false });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  proc.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      }
    }, 20);
    void proc.then((r) => {
      clearInterval(timer);
      reject(new Error(`chuda serve exited (${r.exitCode}) before listening:\n${out}\n${err}`));
    });
  });
  return {
    url,
    proc,
    stdout: () => out,
    stderr: () => err,
    stop: async () => {
      proc.kill("SIGTERM");
      return (await proc).exitCode;
    },
    kill9: async () => {
      proc.kill("SIGKILL");
      await proc;
    },
  };
}
