// A stub of `vscode-languageclient/node`: records each client made, fakes start/stop, and answers
// `workspace/executeCommand` from `LanguageClient.serverCommands`.
import type { LanguageClientOptions } from 'vscode-languageclient/node';

export enum State {
  Stopped = 1,
  Starting = 3,
  Running = 2,
}

export enum RevealOutputChannelOn {
  Debug = 0,
  Info = 1,
  Warn = 2,
  Error = 3,
  Never = 4,
}

export enum CloseAction {
  DoNotRestart = 1,
  Restart = 2,
}

export const ExecuteCommandRequest = { type: { method: 'workspace/executeCommand' } };

export interface ServerOptions {
  command: string;
  args?: string[];
  options?: { env?: NodeJS.ProcessEnv };
  transport?: unknown;
}

type StateListener = (event: { oldState: State; newState: State }) => void;

export class LanguageClient {
  static instances: LanguageClient[] = [];
  /** When set, `start()` fails with it, like a server that cannot be spawned. */
  static startError: Error | undefined;
  /** Like the real client when the server exits while starting: `start()` resolves, stopped. */
  static exitsWhileStarting = false;
  static serverCommands: Record<string, (args: unknown[]) => unknown> = {};

  static reset(): void {
    LanguageClient.instances = [];
    LanguageClient.startError = undefined;
    LanguageClient.exitsWhileStarting = false;
    LanguageClient.serverCommands = {};
  }

  readonly notificationHandlers = new Map<string, (params: unknown) => void>();
  private readonly stateListeners: StateListener[] = [];
  state = State.Stopped;
  disposed = false;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly serverOptions: ServerOptions,
    readonly clientOptions: LanguageClientOptions,
  ) {
    LanguageClient.instances.push(this);
  }

  onNotification(method: string, handler: (params: unknown) => void): { dispose(): void } {
    this.notificationHandlers.set(method, handler);
    return { dispose: () => this.notificationHandlers.delete(method) };
  }

  /** What the server sending a notification looks like to the extension. */
  notify(method: string, params: unknown): void {
    const handler = this.notificationHandlers.get(method);
    if (!handler) throw new Error(`no handler for ${method}`);
    handler(params);
  }

  onDidChangeState(listener: StateListener): { dispose(): void } {
    this.stateListeners.push(listener);
    return { dispose: () => undefined };
  }

  start(): Promise<void> {
    this.setState(State.Starting);
    if (LanguageClient.startError) {
      this.setState(State.Stopped);
      return Promise.reject(LanguageClient.startError);
    }
    this.setState(LanguageClient.exitsWhileStarting ? State.Stopped : State.Running);
    return Promise.resolve();
  }

  createDefaultErrorHandler() {
    return {
      error: () => ({ action: 'default' }),
      closed: () => ({ action: CloseAction.Restart }),
    };
  }

  isRunning(): boolean {
    return this.state === State.Running;
  }

  dispose(): Promise<void> {
    this.disposed = true;
    this.setState(State.Stopped);
    return Promise.resolve();
  }

  sendRequest(
    type: { method: string },
    params: { command: string; arguments: unknown[] },
  ): Promise<unknown> {
    if (type.method !== 'workspace/executeCommand') throw new Error(`unexpected ${type.method}`);
    const command = LanguageClient.serverCommands[params.command];
    if (!command) return Promise.reject(new Error(`unknown command ${params.command}`));
    return Promise.resolve(command(params.arguments));
  }

  private setState(newState: State): void {
    const oldState = this.state;
    this.state = newState;
    for (const listener of this.stateListeners) listener({ oldState, newState });
  }
}
