/**
 * The one rounding of money in every report (text, JSON, HTML): to the fen, half away from zero, on the decimal
 * value people see rather than the binary float (0.585 is ¥0.59 everywhere, although the float 0.585 is a hair
 * below it). Reading the product to 12 significant digits drops the float's representation error first.
 */
export function roundYuan(x: number): number {
  if (!Number.isFinite(x)) return x;
  const fen = Math.round(Math.abs(Number((x * 100).toPrecision(12))));
  return (Math.sign(x) * fen) / 100 || 0;
}

/** `¥1,234.50`; `–` for no value. */
export function formatYuan(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  const r = roundYuan(x);
  return `¥${r.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** `1234.50`: the plain decimal of a rounded amount (HTML tables and charts). */
export const yuanDecimal = (x: number): string => roundYuan(x).toFixed(2);
