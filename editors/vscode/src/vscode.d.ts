// The few parts of the editor API the client uses. (@types/vscode is not a dependency of the repository; the
// editor provides the real module at run time.)
declare module "vscode" {
  export interface Disposable {
    dispose(): unknown;
  }
  export interface ExtensionContext {
    subscriptions: Disposable[];
  }
  export type FileSystemWatcher = Disposable;
  export const workspace: {
    workspaceFolders: readonly { uri: { fsPath: string } }[] | undefined;
    getConfiguration(section: string): { get<T>(key: string): T | undefined };
    createFileSystemWatcher(glob: string): FileSystemWatcher;
  };
}
