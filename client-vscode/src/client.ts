// The language client's life: start the server with the current settings and Claude key,
// restart it, stop it, and say clearly when it cannot start.
import type { Memento, OutputChannel, SecretStorage } from 'vscode';
import {
  CloseAction,
  ExecuteCommandRequest,
  LanguageClient,
  RevealOutputChannelOn,
  State,
  type ErrorHandler,
} from 'vscode-languageclient/node';
import { InstructionHistory, instructionMiddleware } from './instructions';
import { jobMiddleware } from './job';
import {
  commandLine,
  configuredServerCommand,
  missingExecutable,
  resolveServerCommand,
  type ServerCommand,
} from './launch';
import { STATUS_NOTIFICATION, type ServerCommands } from './protocol';
import { getClaudeKey, serverEnv } from './secrets';
import { DOCUMENT_SELECTOR } from './selector';
import { configurationMiddleware, initializationOptions } from './settings';
import { STARTING, statusView, stoppedView, type StatusBar } from './statusBar';
import * as vscode from './vscodeApi';

/** Runs one of the server's `workspace/executeCommand` commands; protocol.ts reads the result. */
export type RunServerCommand = <C extends keyof ServerCommands>(
  command: C,
  args?: ServerCommands[C]['args'],
) => Promise<unknown>;

interface Launch {
  server: ServerCommand;
  env: NodeJS.ProcessEnv;
}

const OPEN_SETTING = 'Open Setting';
const SHOW_OUTPUT = 'Show Output';
const HOW_TO_INSTALL = 'How to install';

const INSTALL_HELP =
  'pip install ladder-lsp\n\nThen run "Ladder: Restart Server". If Ladder lives in a virtual ' +
  'environment, select its interpreter in the Python extension, or set "ladder.server.command".';

export class LadderClient {
  private client: LanguageClient | undefined;
  /** Starts and stops run one at a time, in the order asked. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly secrets: SecretStorage,
    private readonly output: OutputChannel,
    private readonly statusBar: StatusBar,
    /** Where the last instructions for "Edit with …" are kept (the extension's globalState). */
    private readonly state?: Memento,
  ) {}

  /** Stops the server if it runs, then starts it with the current settings and Claude key. */
  restart(): Promise<void> {
    return this.enqueue(async () => {
      await this.stopClient();
      await this.startClient();
    });
  }

  stop(): Promise<void> {
    return this.enqueue(() => this.stopClient());
  }

  /** The client's executeCommand middleware: workspace jobs ask for their instruction and
   * plan, "Edit with …" for its instruction, then the command goes to the server. */
  private commandMiddleware() {
    const jobs = jobMiddleware(this.executeCommand);
    const edits = this.state
      ? instructionMiddleware(new InstructionHistory(this.state))
      : undefined;
    return (command: string, args: unknown[], next: (c: string, a: unknown[]) => unknown) =>
      jobs(command, args, (c, a) => (edits ? edits(c, a, next) : next(c, a)));
  }

  readonly executeCommand: RunServerCommand = async (command, args) => {
    if (!this.client?.isRunning()) {
      throw new Error('the server is not running. Try "Ladder: Restart Server".');
    }
    return this.client.sendRequest(ExecuteCommandRequest.type, {
      command,
      arguments: args ?? [],
    });
  };

  /** The command and environment the server runs with. */
  async launch(): Promise<Launch> {
    return {
      server: await resolveServerCommand(),
      env: serverEnv(process.env, await getClaudeKey(this.secrets)),
    };
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async startClient(): Promise<void> {
    const { server, env } = await this.launch();
    const missing = await missingExecutable(server.command);
    if (missing !== undefined) {
      this.output.appendLine(`Not starting ${commandLine(server)}: ${missing}`);
      this.statusBar.show(stoppedView(`${missing}.`));
      void this.reportMissingExecutable(missing);
      return;
    }
    this.statusBar.show(STARTING);
    this.output.appendLine(`Starting ${commandLine(server)}`);
    const client = this.createClient(server, env);
    this.client = client;
    // A server that exits while starting makes start() resolve, not reject: check the state too.
    const failure = await client.start().then(
      () => (client.isRunning() ? undefined : 'it exited while starting'),
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    if (failure !== undefined) {
      this.statusBar.show(stoppedView(`\`${commandLine(server)}\` did not start: ${failure}`));
      void this.reportStartFailure(server, failure);
    }
  }

  private createClient(server: ServerCommand, env: NodeJS.ProcessEnv): LanguageClient {
    // A server that fails to start is reported once, by startClient: not restarted, no raw
    // protocol error shown. Once it has run, the default policy applies (restart after a crash).
    const errorHandler: ErrorHandler = {
      error: (error, message, count) => defaultHandler.error(error, message, count),
      closed: () =>
        client.state === State.Starting
          ? { action: CloseAction.DoNotRestart, handled: true }
          : defaultHandler.closed(),
    };
    const client = new LanguageClient(
      'ladder',
      'Ladder',
      { command: server.command, args: server.args, options: { env } },
      {
        documentSelector: [...DOCUMENT_SELECTOR],
        initializationOptions: initializationOptions(vscode.getConfiguration('ladder')),
        synchronize: { configurationSection: 'ladder' },
        middleware: {
          workspace: { configuration: configurationMiddleware },
          executeCommand: this.commandMiddleware(),
        },
        outputChannel: this.output,
        // The server itself tells the user what went wrong (window/showMessage).
        revealOutputChannelOn: RevealOutputChannelOn.Never,
        initializationFailedHandler: () => false,
        errorHandler,
      },
    );
    const defaultHandler = client.createDefaultErrorHandler();
    client.onNotification(STATUS_NOTIFICATION, (status: unknown) => {
      this.statusBar.show(statusView(status));
    });
    client.onDidChangeState(({ newState }) => {
      if (newState === State.Stopped) {
        this.statusBar.show(stoppedView('The server stopped: see the Ladder output.'));
      }
    });
    return client;
  }

  private async stopClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client?.isRunning()) {
      await client.dispose().catch((error: unknown) => {
        this.output.appendLine(`Stopping the server failed: ${String(error)}`);
      });
    }
  }

  /** A path to nothing is fixed in the setting, so the notification leads there. */
  private async reportMissingExecutable(missing: string): Promise<void> {
    const where = configuredServerCommand() ? ' (setting "ladder.server.command")' : '';
    const choice = await vscode.showErrorMessage(
      `Ladder: cannot start the server: ${missing}${where}.`,
      OPEN_SETTING,
      SHOW_OUTPUT,
    );
    await this.follow(choice);
  }

  private async reportStartFailure(server: ServerCommand, reason: string): Promise<void> {
    const choice = await vscode.showErrorMessage(
      `Ladder: could not start the server (${commandLine(server)}): ${reason}`,
      HOW_TO_INSTALL,
      OPEN_SETTING,
      SHOW_OUTPUT,
    );
    await this.follow(choice);
  }

  private async follow(choice: string | undefined): Promise<void> {
    if (choice === SHOW_OUTPUT) this.output.show();
    if (choice === OPEN_SETTING) await openServerCommandSetting();
    if (choice === HOW_TO_INSTALL) {
      const restart = await vscode.showModalMessage(
        'Install the Ladder server',
        INSTALL_HELP,
        'Restart Server',
      );
      if (restart) await this.restart();
    }
  }
}

/**
 * `ladder.server.command` is a machine setting: a remote window reads it from the Remote
 * settings only (the User tab does not list it there).
 */
const openServerCommandSetting = (): Thenable<unknown> =>
  vscode.remoteName()
    ? vscode.executeCommand('workbench.action.openRemoteSettings', {
        query: 'ladder.server.command',
      })
    : vscode.executeCommand('workbench.action.openSettings', 'ladder.server.command');
