/** Phone numbers are masked in every report: 13812341234 → 138****1234. */
export function maskPhone(value: string): string {
  const digits = value.replace(/\D/g, "");
  if (digits.length < 7) return "*".repeat(value.length);
  let out = "";
  let seen = 0;
  for (const ch of value) {
    if (/\d/.test(ch)) {
      seen++;
      out += seen <= 3 || seen > digits.length - 4 ? ch : "*";
    } else out += ch;
  }
  return out;
}

/** Masks anything that looks like a mainland mobile number inside free text. */
export function maskPhonesIn(text: string): string {
  return text.replace(/(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)/g, "$1****$3");
}
