// Which command starts the Ladder server.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { Uri } from 'vscode';
import * as vscode from './vscodeApi';

export interface ServerCommand {
  command: string;
  args: string[];
}

/** The bits of the ms-python.python API used here; every part may be missing in old versions. */
interface PythonExtensionApi {
  ready?: Thenable<void>;
  environments?: {
    getActiveEnvironmentPath(resource?: Uri): { id: string; path: string };
    resolveEnvironment(environment: {
      id: string;
      path: string;
    }): Thenable<{ executable: { uri?: Uri } } | undefined>;
  };
  settings?: {
    getExecutionDetails(resource?: Uri): { execCommand: string[] | undefined };
  };
}

/**
 * The `ladder.server.command` setting; else `ladder-lsp` on PATH; else the interpreter selected
 * in the Python extension, running `-m ladder_lsp`; else `python3 -m ladder_lsp`.
 */
export async function resolveServerCommand(
  env: NodeJS.ProcessEnv = process.env,
): Promise<ServerCommand> {
  const configured = configuredServerCommand();
  if (configured) return configured;
  const ladderLsp = await findOnPath('ladder-lsp', env);
  if (ladderLsp) return { command: ladderLsp, args: [] };
  const [python = defaultPython(), ...pythonArgs] = (await pythonFromExtension()) ?? [];
  return { command: python, args: [...pythonArgs, '-m', 'ladder_lsp'] };
}

/** The `ladder.server.command` setting, when it names a command. */
export const configuredServerCommand = (): ServerCommand | undefined =>
  fromSetting(vscode.getConfiguration('ladder').get('server.command'));

/**
 * Why `command` cannot be run, when it is a path (has a directory part) to nothing or to a file
 * that cannot run; undefined otherwise. A bare name is left to the PATH lookup of spawn.
 */
export async function missingExecutable(command: string): Promise<string | undefined> {
  const separators = process.platform === 'win32' ? /[\\/]/ : /\//;
  if (!separators.test(command)) return undefined;
  try {
    if (!(await stat(command)).isFile()) return `${command} is not a file`;
  } catch {
    return `${command} does not exist`;
  }
  return (await isExecutableFile(command)) ? undefined : `${command} is not executable`;
}

export const commandLine = ({ command, args }: ServerCommand): string =>
  [command, ...args].join(' ');

/** A string is the executable itself (spaces and all); an array is `[executable, ...args]`. */
function fromSetting(value: unknown): ServerCommand | undefined {
  const parts = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(parts) || !parts.every((part) => typeof part === 'string')) return undefined;
  const [command, ...args] = parts;
  return command?.trim() ? { command: command.trim(), args } : undefined;
}

async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const extensions =
    process.platform === 'win32' ? (env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const extension of extensions) {
      const candidate = path.join(dir, name + extension);
      if (await isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function pythonFromExtension(): Promise<string[] | undefined> {
  const extension = vscode.getExtension<PythonExtensionApi>('ms-python.python');
  if (!extension) return undefined;
  try {
    const python = extension.isActive ? extension.exports : await extension.activate();
    await python.ready;
    const resource = vscode.firstWorkspaceFolder();
    const environments = python.environments;
    if (environments) {
      const active = environments.getActiveEnvironmentPath(resource);
      const executable = (await environments.resolveEnvironment(active))?.executable.uri?.fsPath;
      if (executable) return [executable];
    }
    return python.settings?.getExecutionDetails(resource).execCommand;
  } catch {
    return undefined; // a failing Python extension must not stop Ladder: fall back to python3
  }
}

const defaultPython = (): string => (process.platform === 'win32' ? 'python' : 'python3');
