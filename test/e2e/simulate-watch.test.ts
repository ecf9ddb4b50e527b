/**
 * `chuda simulate --watch --json`: one JSON document per line per run; an edited campaign is simulated again
 * (and equals a plain `simulate` of the edited repository), a broken one prints its errors and waits for the
 * fix, and SIGINT ends the watch with exit 0.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { BIN, chuda, copyExampleRepo, hasStackTrace } from "./cli.js";

let dir: string;
let watcher: ResultPromise | undefined;
const ARGS = ["--members", "members.csv", "--from", "2026-12-01", "--to", "2026-12-30", "--json"];

beforeAll(async () => {
  dir = copyExampleRepo();
  const g = await chuda(["sample-members", "--count", "3000", "--seed", "31", "--out", path.join(dir, "members.csv")], { cwd: dir });
  expect(g.exitCode, g.stderr).toBe(0);
});
afterEach(() => {
  watcher?.kill("SIGKILL");
  watcher = undefined;
});

/** Reads stdout line by line: `next()` resolves with the next whole line (a JSON document). */
function lines(child: ResultPromise) {
  const queue: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let buffer = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const w = waiting.shift();
      if (w) w(line);
      else queue.push(line);
    }
  });
  return { next: () => new Promise<string>((resolve) => (queue.length ? resolve(queue.shift()!) : waiting.push(resolve))) };
}

describe("chuda simulate --watch (built CLI)", () => {
  it("simulates again after each change, waits out errors, and stops on SIGINT with exit 0", async () => {
    const file = path.join(dir, "campaigns", "lifecycle", "birthday.chuda");
    const original = readFileSync(file, "utf8");
    watcher = execa(process.execPath, [BIN, "simulate", "--watch", ...ARGS], { cwd: dir, env: { CI: "true", NO_COLOR: "1" }, reject: false });
    const out = lines(watcher);
    const first = JSON.parse(await out.next());
    const plain = await chuda(["simulate", ...ARGS], { cwd: dir });
    expect(first).toEqual(JSON.parse(plain.stdout));

    // A larger holdout for the birthday campaign: the next document says so, as a plain simulate does.
    const limited = original.replace(/(campaign birthday_gift[^]*?holdout\s+)10%/, "$160%");
    expect(limited).not.toBe(original);
    writeFileSync(file, limited);
    const second = JSON.parse(await out.next());
    const plainLimited = await chuda(["simulate", ...ARGS], { cwd: dir });
    expect(plainLimited.exitCode, plainLimited.stderr).toBe(0);
    expect(second).toEqual(JSON.parse(plainLimited.stdout));
    const sends = (doc: { campaigns: { name: string; sends: number }[] }) => doc.campaigns.find((c) => c.name === "birthday_gift")!.sends;
    expect(sends(second)).toBeLessThan(sends(first));

    // A broken campaign: its errors, then the watch goes on.
    writeFileSync(file, limited.replace("audience", "audiense"));
    const broken = JSON.parse(await out.next());
    expect(broken.valid).toBe(false);
    expect(broken.errors.length).toBeGreaterThan(0);
    expect(broken.errors[0].file).toContain("birthday.chuda");

    writeFileSync(file, original);
    const fixed = JSON.parse(await out.next());
    expect(fixed).toEqual(first);

    watcher.kill("SIGINT");
    const result = await watcher;
    expect(result.exitCode).toBe(0);
    expect(hasStackTrace(String(result.stderr))).toBe(false);
  });
});
