/** Quoting for SQL text that chuda writes itself (identifiers from chuda.yaml). User values are always bound parameters. */

/** A quoted SQL identifier: `tier` → `"tier"`. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A SQL string literal for names chuda.yaml declares (enum values, file paths); never for audience literals. */
export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * A file path that DuckDB's readers take literally. They expand `*`, `?`, `[…]` (and `**`) in any path, so
 * `m[1].csv` would read `m1.csv`; each such character becomes a one-character class (`[` → `[[]`) that matches
 * only itself.
 */
export function escapeGlob(file: string): string {
  return file.replace(/[*?[]/g, (c) => `[${c}]`);
}

/** Whether a path has characters a shell or DuckDB would take as a pattern. */
export const looksLikeGlob = (file: string): boolean => /[*?[\]{}]/.test(file);
