/** The checker's name for the program's one suggester (src/diagnostics/diag.ts). */
export { didYouMean as suggestion } from "./diag.js";
