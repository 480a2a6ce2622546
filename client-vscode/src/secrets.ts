// The Claude API key: kept in VS Code's secret storage, handed to the server as ANTHROPIC_API_KEY.
import type { SecretStorage } from 'vscode';
import * as vscode from './vscodeApi';

const CLAUDE_KEY = 'ladder.claude.apiKey';

export const getClaudeKey = (secrets: SecretStorage): Thenable<string | undefined> =>
  secrets.get(CLAUDE_KEY);

/** Asks for the key in a password box; true when a key was stored. */
export async function askForClaudeKey(secrets: SecretStorage): Promise<boolean> {
  const key = (
    await vscode.showInputBox({
      title: 'Ladder: Claude API key',
      prompt: 'Kept in VS Code secret storage and given to the Ladder server as ANTHROPIC_API_KEY.',
      placeHolder: 'sk-ant-…',
      password: true,
      ignoreFocusOut: true,
      validateInput: (value) => (value.trim() ? undefined : 'Paste a key, or press Escape.'),
    })
  )?.trim();
  if (!key) return false;
  await secrets.store(CLAUDE_KEY, key);
  return true;
}

export const clearClaudeKey = (secrets: SecretStorage): Thenable<void> =>
  secrets.delete(CLAUDE_KEY);

/** The server's environment: ours, with the stored key (if any) as ANTHROPIC_API_KEY. */
export const serverEnv = (
  base: NodeJS.ProcessEnv,
  claudeKey: string | undefined,
): NodeJS.ProcessEnv => (claudeKey ? { ...base, ANTHROPIC_API_KEY: claudeKey } : { ...base });
