/**
 * One cell of a CSV file chuda writes. A value that a spreadsheet would run as a formula (it starts with `=`, `+`,
 * `-`, `@`, a tab or a carriage return, as OWASP lists for CSV injection) gets a leading `'`, which Excel and WPS
 * show as text; such a cell, and any cell with a quote, comma or line break, is quoted.
 */
export function csvCell(value: string): string {
  const neutral = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return neutral !== value || /[",\n\r]/.test(neutral) ? `"${neutral.replace(/"/g, '""')}"` : neutral;
}

export const csvRow = (values: readonly string[]): string => values.map(csvCell).join(",") + "\n";
