// A real MariaDB server on a loopback port of its own (Debian's mariadb-server), in a temporary data folder.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "./common.js";

export interface MariaDbServer {
  /** mysql://root@127.0.0.1:PORT/chuda (the database exists) */
  url: string;
  port: number;
  stop(): Promise<void>;
}

function findBinary(names: string[]): string {
  for (const dir of ["/usr/sbin", "/usr/bin", "/usr/local/bin"]) for (const name of names) if (existsSync(join(dir, name))) return join(dir, name);
  throw new Error(`MariaDB is not installed (no ${names.join("/")}): run .ci/run, or apt-get install mariadb-server`);
}

export async function startMariaDb(): Promise<MariaDbServer> {
  const installDb = findBinary(["mariadb-install-db", "mysql_install_db"]);
  const server = findBinary(["mariadbd", "mysqld"]);
  const dir = mkdtempSync(join(tmpdir(), "chuda-mariadb-"));
  chmodSync(dir, 0o777);
  const data = join(dir, "data");
  const user = userInfo().username;
  execFileSync(installDb, ["--no-defaults", `--datadir=${data}`, `--user=${user}`, "--auth-root-authentication-method=normal", "--skip-test-db"], {
    stdio: "pipe",
  });
  const port = await freePort();
  const child: ChildProcess = spawn(
    server,
    [
      "--no-defaults",
      `--datadir=${data}`,
      `--user=${user}`,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      `--socket=${join(dir, "mysqld.sock")}`,
      `--pid-file=${join(dir, "mysqld.pid")}`,
      "--skip-log-bin",
      "--innodb-buffer-pool-size=128M",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const mysql = await import("mysql2/promise");
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`mariadbd exited (${child.exitCode}): ${log}`);
    try {
      const conn = await mysql.createConnection({ host: "127.0.0.1", port, user: "root" });
      await conn.query("create database if not exists chuda character set utf8mb4");
      await conn.end();
      return true;
    } catch {
      return false;
    }
  }, `MariaDB on port ${port}`);
  return {
    url: `mysql://root@127.0.0.1:${port}/chuda`,
    port,
    async stop(): Promise<void> {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
