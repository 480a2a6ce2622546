// Entry point: wires the output channel, status bar, commands and language client together.
import type { ExtensionContext } from 'vscode';
import { LadderClient } from './client';
import { registerCommands, SHOW_COMMANDS } from './commands';
import { StatusBar } from './statusBar';
import * as vscode from './vscodeApi';

let ladder: LadderClient | undefined;

export async function activate(context: ExtensionContext): Promise<void> {
  const output = vscode.createOutputChannel('Ladder');
  const statusBar = new StatusBar(SHOW_COMMANDS);
  const client = new LadderClient(context.secrets, output, statusBar, context.globalState);
  ladder = client;
  context.subscriptions.push(
    output,
    statusBar,
    ...registerCommands(client, context.secrets, output),
    vscode.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('ladder.server.command')) void client.restart();
    }),
  );
  await client.restart();
}

export function deactivate(): Promise<void> | undefined {
  return ladder?.stop();
}
