/** The checker's name for the program's one suggester (src/check/diagnostics/diag.ts). */
export { didYouMean as suggestion } from "./diagnostics/diag.js";
