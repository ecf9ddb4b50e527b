/**
 * How a list field is stored: its items joined by `;` in one text column (`''` is the empty list, NULL a missing
 * one). Items are trimmed and never empty and never hold `;` (CSV cells are split on `;` and `；`), so the text
 * is exactly what a template sees (`a;b`) and a membership test is a substring test on `;`-bounded items
 * (compile.ts: `has`, `len`, `is set`).
 * Building real DuckDB lists for ten million members cost a fifth of a snapshot's load; testing text costs no
 * more than testing lists.
 */

const SEPARATOR = ";";

/** SQL: any text (`a; b；;c`) normalized to the stored form (`a;b;c`); NULL stays NULL. */
export function normalizedListSql(text: string): string {
  return `array_to_string(list_filter(list_transform(string_split(replace(${text}, '；', ';'), ';'), lambda x: trim(x)), lambda x: x <> ''), ';')`;
}

/** SQL: true when the stored text needs no normalizing (the usual `a;b`), cheap enough to test on every row. */
export function cleanListSql(text: string): string {
  return `NOT (contains(${text}, '；') OR contains(${text}, ' ') OR contains(${text}, ';;') OR starts_with(${text}, ';') OR ends_with(${text}, ';') OR ${text} = '')`;
}

/** A list of JS strings in the stored form (the same normalizing as a CSV cell). */
export function listText(items: readonly string[]): string {
  return items
    .flatMap((i) => i.split(/[;；]/))
    .map((i) => i.trim())
    .filter((i) => i !== "")
    .join(SEPARATOR);
}
