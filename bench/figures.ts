/** Collects bench figures and prints them as one table at the end (and to bench/results.json). */
import { writeFileSync, mkdirSync } from "node:fs";

const rows: { name: string; value: string; note?: string }[] = [];

export function figure(name: string, value: string, note?: string): void {
  rows.push({ name, value, note });
  process.stdout.write(`[bench] ${name}: ${value}${note ? `  (${note})` : ""}\n`);
}

export function printFigures(): void {
  const w = Math.max(...rows.map((r) => r.name.length));
  process.stdout.write("\n== chuda bench ==\n" + rows.map((r) => `${r.name.padEnd(w)}  ${r.value}${r.note ? `  ${r.note}` : ""}`).join("\n") + "\n");
  mkdirSync("bench/data", { recursive: true });
  writeFileSync("bench/data/results.json", JSON.stringify(rows, null, 2));
}
