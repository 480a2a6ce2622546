// The parts of the `vscode` API that Ladder uses, behind plain functions: the one module that
// touches `vscode` at run time, so tests can replace it with a small stub.
import * as vscode from 'vscode';

export const getConfiguration = (section: string): vscode.WorkspaceConfiguration =>
  vscode.workspace.getConfiguration(section);

export const onDidChangeConfiguration = (
  listener: (event: vscode.ConfigurationChangeEvent) => unknown,
): vscode.Disposable => vscode.workspace.onDidChangeConfiguration(listener);

export const firstWorkspaceFolder = (): vscode.Uri | undefined =>
  vscode.workspace.workspaceFolders?.[0]?.uri;

export const openTextDocument = (options: {
  language: string;
  content: string;
}): Thenable<vscode.TextDocument> => vscode.workspace.openTextDocument(options);

/** Set in a remote window (SSH, WSL, containers, code-server): machine settings live there. */
export const remoteName = (): string | undefined => vscode.env.remoteName;

export const getExtension = <T>(id: string): vscode.Extension<T> | undefined =>
  vscode.extensions.getExtension<T>(id);

export const registerCommand = (id: string, run: () => unknown): vscode.Disposable =>
  vscode.commands.registerCommand(id, run);

export const executeCommand = (id: string, ...args: unknown[]): Thenable<unknown> =>
  vscode.commands.executeCommand(id, ...args);

export const createOutputChannel = (name: string): vscode.OutputChannel =>
  vscode.window.createOutputChannel(name);

export const createStatusBarItem = (id: string): vscode.StatusBarItem =>
  vscode.window.createStatusBarItem(id, vscode.StatusBarAlignment.Right, 100);

export const markdown = (value: string): vscode.MarkdownString =>
  new vscode.MarkdownString(value, true);

export const themeColor = (id: string): vscode.ThemeColor => new vscode.ThemeColor(id);

export const showQuickPick = <T extends vscode.QuickPickItem>(
  items: readonly T[],
  options: vscode.QuickPickOptions,
): Thenable<T | undefined> => vscode.window.showQuickPick(items, options);

export const showInputBox = (options: vscode.InputBoxOptions): Thenable<string | undefined> =>
  vscode.window.showInputBox(options);

export const showInformationMessage = (
  message: string,
  ...actions: string[]
): Thenable<string | undefined> => vscode.window.showInformationMessage(message, ...actions);

export const showModalMessage = (
  message: string,
  detail: string,
  ...actions: string[]
): Thenable<string | undefined> =>
  vscode.window.showInformationMessage(message, { modal: true, detail }, ...actions);

export const showWarningMessage = (message: string): Thenable<string | undefined> =>
  vscode.window.showWarningMessage(message);

export const showErrorMessage = (
  message: string,
  ...actions: string[]
): Thenable<string | undefined> => vscode.window.showErrorMessage(message, ...actions);
