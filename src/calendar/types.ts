/** An occurrence: a trigger firing (docs/language.md). Produced by src/calendar, consumed by src/plan and the `calendar` command. */
export interface Occurrence {
  campaign: string;
  /** Project-local date and time of the firing. */
  date: string; // YYYY-MM-DD
  time: string; // HH:MM
  /** Epoch ms of the firing (date + time in the project timezone). */
  at: number;
  /** Stable id used in ledger keys: `2026-11-24T10:00+08:00`. */
  id: string;
  /** What fired it, for people: `3 days before mid_autumn (2026-09-25)`, `every monday`, `anniversary of birthday`. */
  event: string;
  /** Member-date triggers: the audience is the members whose date matches this day (see ResolvedTrigger). */
  perMember: boolean;
  /** Business-event triggers: the event that fired it; the audience is at most its one member. */
  businessEvent?: { member: string; props: Record<string, unknown> };
}
