import type { MessageDef } from "../types.js";

/** Messages of the calendar stage: codes CH4xxx. Keys are stable identifiers used in code. */
export const calendarMessages = {
  calendarMonthDayOutOfRange: {
    code: "CH4001",
    severity: "error",
    message: "`every month on {0}` is not a day of a month",
    help: "write a day from 1 to 31",
    description: "A monthly trigger names a day outside 1..31.",
  },
  calendarMonthDaySkipped: {
    code: "CH4002",
    severity: "warning",
    message: "`every month on {0}` is skipped in months without day {0} ({1})",
    help: "it fires in {2} months a year; use a day from 1 to 28 to fire every month",
    description: "A monthly trigger on day 29, 30 or 31 does not fire in shorter months.",
  },
  calendarOnceOutsideActive: {
    code: "CH4003",
    severity: "warning",
    message: "`once at {0}` is outside the campaign's `active` range {1} .. {2}",
    help: "the campaign would never send; move the date or the range",
    description: "A one-off trigger falls outside the campaign's active range.",
  },
  calendarEventOutsideActive: {
    code: "CH4004",
    severity: "warning",
    message: "`{0}` never fires inside the campaign's `active` range {1} .. {2}",
    help: "the nearest firing is on {3}; widen the range or change the trigger",
    description: "A calendar-event trigger has no firing inside the campaign's active range.",
  },
  calendarNeverFires: {
    code: "CH4005",
    severity: "warning",
    message: "`{0}` never fires inside the campaign's `active` range {1} .. {2}",
    help: "the campaign would never send; widen the range or change the trigger",
    description: "A trigger has no occurrence inside the campaign's active range.",
  },
  calendarOffsetYearOrMore: {
    code: "CH4006",
    severity: "warning",
    message: "the offset `{0}` is a year or more",
    help: "{1} comes back every year, so an offset of a year or more lands next to a different year's date; use an offset shorter than a year",
    description: "A before/after offset of a yearly event or anniversary is a year or longer.",
  },
} satisfies Record<string, MessageDef>;
