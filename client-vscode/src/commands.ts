// The extension's commands (package.json contributes.commands) and the status bar's menu of them.
// Their ids differ from the server's own commands (ladder.run, ladder.models, …), which the
// language client registers by itself.
import type { Disposable, OutputChannel, SecretStorage } from 'vscode';
import type { LadderClient } from './client';
import { runDoctor } from './doctor';
import { runJob } from './job';
import { selectLocalModel } from './models';
import { askForClaudeKey, clearClaudeKey } from './secrets';
import { showUsage } from './usage';
import * as vscode from './vscodeApi';

export const COMMANDS = [
  { id: 'ladder.selectLocalModel', title: 'Select Local Model' },
  { id: 'ladder.showUsage', title: 'Show Usage' },
  { id: 'ladder.restartServer', title: 'Restart Server' },
  { id: 'ladder.setClaudeKey', title: 'Set Claude API Key' },
  { id: 'ladder.clearClaudeKey', title: 'Clear Claude API Key' },
  { id: 'ladder.runDoctor', title: 'Run Doctor' },
  { id: 'ladder.runJob', title: 'Run Workspace Job' },
  { id: 'ladder.showCommands', title: 'Show Commands' },
] as const;

type CommandId = (typeof COMMANDS)[number]['id'];

export const SHOW_COMMANDS: CommandId = 'ladder.showCommands';

export function registerCommands(
  ladder: LadderClient,
  secrets: SecretStorage,
  output: OutputChannel,
): Disposable[] {
  const handlers: Record<CommandId, () => Promise<void>> = {
    'ladder.selectLocalModel': () => selectLocalModel(ladder.executeCommand),
    'ladder.showUsage': () => showUsage(ladder.executeCommand),
    'ladder.restartServer': () => ladder.restart(),
    'ladder.setClaudeKey': async () => {
      if (!(await askForClaudeKey(secrets))) return;
      await ladder.restart();
      void vscode.showInformationMessage(
        'Ladder: Claude API key saved; the server restarted with it.',
      );
    },
    'ladder.clearClaudeKey': async () => {
      await clearClaudeKey(secrets);
      await ladder.restart();
      void vscode.showInformationMessage(
        process.env.ANTHROPIC_API_KEY
          ? 'Ladder: Claude API key removed. ANTHROPIC_API_KEY from your environment still applies.'
          : 'Ladder: Claude API key removed.',
      );
    },
    'ladder.runDoctor': async () => {
      const { server, env } = await ladder.launch();
      void ((await runDoctor(server, env, output))
        ? vscode.showInformationMessage('Ladder doctor: at least one tier can serve.')
        : vscode.showWarningMessage('Ladder doctor found problems: see the Ladder output.'));
    },
    'ladder.runJob': async () => {
      await runJob(ladder.executeCommand);
    },
    'ladder.showCommands': showCommands,
  };
  return COMMANDS.map(({ id }) =>
    vscode.registerCommand(id, () => handlers[id]().catch(showError)),
  );
}

async function showCommands(): Promise<void> {
  const items = COMMANDS.filter(({ id }) => id !== SHOW_COMMANDS).map(({ id, title }) => ({
    label: title,
    id,
  }));
  const picked = await vscode.showQuickPick(items, {
    title: 'Ladder',
    placeHolder: 'Run a Ladder command',
  });
  if (picked) await vscode.executeCommand(picked.id);
}

function showError(error: unknown): void {
  void vscode.showErrorMessage(`Ladder: ${error instanceof Error ? error.message : String(error)}`);
}
