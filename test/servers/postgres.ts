// A real PostgreSQL server on a loopback port of its own, for tests and benches. No mocks: Debian's
// PostgreSQL binaries, a fresh cluster in a temporary folder, stopped (and the folder removed) by stop().
// initdb refuses to run as root, so as root every server command runs as the `postgres` user.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "./common.js";

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** A URL to a database of that name, created on first call. */
  database(name: string): Promise<string>;
  /**
   * CPU seconds the server has used so far (Linux /proc): the postmaster, its live processes and those that ended
   * (backends of closed connections). For benches, to say where a run's time went.
   */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** fsync and synchronous_commit on (the default: commits are durable, as in production). */
  durable?: boolean;
}

const isRoot = process.getuid?.() === 0;

/** A role the test server makes give its password (the others are trusted): create it with a password to use it. */
export const PASSWORD_ROLE = "chuda_pw";

function binDir(): string {
  const base = "/usr/lib/postgresql";
  if (existsSync(base)) {
    const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(base, v, "bin", "initdb"))) return join(base, v, "bin");
  }
  throw new Error("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run .ci/run, or apt-get install postgresql");
}

function asServerUser(cmd: string, args: string[]): [string, string[]] {
  return isRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), "chuda-pg-"));
  chmodSync(dir, 0o777);
  const data = join(dir, "data");
  const [initCmd, initArgs] = asServerUser(join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--locale=C"]);
  execFileSync(initCmd, initArgs, { stdio: "pipe" });
  // Every login is trusted but PASSWORD_ROLE's, which must give its password (SCRAM), as on a real server.
  const hba = join(data, "pg_hba.conf");
  writeFileSync(hba, `host all ${PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n` + readFileSync(hba, "utf8"));
  const port = await freePort();
  const durable = options.durable ?? true;
  const settings = [
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    `unix_socket_directories=${dir}`,
    "-c",
    "max_connections=200",
    "-c",
    `fsync=${durable ? "on" : "off"}`,
    "-c",
    `synchronous_commit=${durable ? "on" : "off"}`,
    "-c",
    "shared_buffers=128MB",
  ];
  const [cmd, args] = asServerUser(join(bin, "postgres"), ["-D", data, "-p", String(port), ...settings]);
  const child: ChildProcess = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const { default: pg } = await import("pg");
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`postgres exited (${child.exitCode}): ${log}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query("select 1");
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }, `PostgreSQL on port ${port}`);

  const created = new Set<string>();
  return {
    url,
    port,
    async database(name: string): Promise<string> {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      if (!created.has(name)) {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          await client.query(`create database ${name}`);
        } finally {
          await client.end();
        }
        created.add(name);
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    cpuSeconds(): number {
      return serverCpuSeconds(join(data, "postmaster.pid"));
    },
    async stop(): Promise<void> {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        // SIGINT to the postmaster itself (runuser does not pass signals on): PostgreSQL's "fast" shutdown.
        const pidFile = join(data, "postmaster.pid");
        const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").split("\n")[0]) : NaN;
        if (Number.isInteger(pid) && pid > 0) process.kill(pid, "SIGINT");
        else child.kill("SIGKILL");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Clock ticks per second of /proc/<pid>/stat's times: 100 on every Linux this runs on (USER_HZ). */
const TICKS = 100;

/** utime, stime, cutime and cstime of a process (fields 14–17 of /proc/<pid>/stat), and its parent, or undefined. */
function procTimes(pid: number): { ppid: number; own: number; children: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces: the fields after it start behind the last ')'.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined;
  }
}

function serverCpuSeconds(pidFile: string): number {
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").split("\n")[0]) : NaN;
  const root = Number.isInteger(pid) ? procTimes(pid) : undefined;
  if (!root) return NaN;
  let ticks = root.own + root.children;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const t = procTimes(Number(name));
    if (t?.ppid === pid) ticks += t.own + t.children;
  }
  return ticks / TICKS;
}
