/** Which chuda the extension starts: the setting, else the workspace's own install, else PATH. */
import { existsSync } from "node:fs";
import path from "node:path";

export function serverCommand(folders: readonly string[], configured: string | undefined, platform: string = process.platform): string {
  if (configured) return configured;
  const bin = platform === "win32" ? "chuda.cmd" : "chuda";
  for (const folder of folders) {
    const local = path.join(folder, "node_modules", ".bin", bin);
    if (existsSync(local)) return local;
  }
  return "chuda";
}
