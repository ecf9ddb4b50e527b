/** Quoting for SQL text that chuda writes itself (identifiers from chuda.yaml). User values are always bound parameters. */

/** A quoted SQL identifier: `tier` → `"tier"`. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A SQL string literal for names chuda.yaml declares (enum values, file paths); never for audience literals. */
export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
