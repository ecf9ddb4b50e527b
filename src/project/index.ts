/** The project stage: chuda.yaml → a typed Project (see README.md for the keys). */
export { findProjectFile, listProjectFiles, PROJECT_FILE_NAME } from "./find.js";
export { loadProject, parseProject, DEFAULT_ASSUMPTIONS, DEFAULT_CONVERSIONS, DEFAULT_TIMEZONE, PROJECT_KEYS, type LoadResult } from "./load.js";
export { parseDuration, parseFrequencyRule, parseClock, parseClockRange, formatClock } from "./duration.js";
export { parsePrice } from "./price.js";
export { parseCalendarDate } from "./calendar-date.js";
export { isValidDriverName, CHANNEL_KEYS } from "./channels.js";
export { DEFAULT_CATCH_UP_MS, DEFAULT_TIME, POLICY_KEYS } from "./policy.js";
export * from "./types.js";
