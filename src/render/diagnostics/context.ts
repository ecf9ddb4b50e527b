/** What a diagnostics renderer needs besides the diagnostics: the source of each file, for code frames. */
export interface RenderContext {
  /** File (relative to the project) → its text. */
  sources: Map<string, string>;
  /** Number of files checked. */
  files: number;
  color: boolean;
  /** Tool version for SARIF. */
  version: string;
}
