// Ladder: Select Local Model — the server's `ladder.models` list as a quick pick.
import type { QuickPickItem } from 'vscode';
import type { RunServerCommand } from './client';
import { asObject, asString } from './json';
import * as vscode from './vscodeApi';

export interface ModelItem extends QuickPickItem {
  id: string;
}

/** `[{id, state}]` (plain id strings accepted too) → items, loaded models first and marked. */
export function modelItems(models: unknown): ModelItem[] {
  const entries = Array.isArray(models) ? models : [];
  return entries
    .map((entry) => {
      const model = typeof entry === 'string' ? { id: entry } : asObject(entry);
      return { id: asString(model.id), state: asString(model.state) };
    })
    .filter((model): model is { id: string; state: string | undefined } => model.id !== undefined)
    .sort((a, b) => Number(b.state === 'loaded') - Number(a.state === 'loaded'))
    .map(({ id, state }) =>
      state === 'loaded'
        ? { id, label: `$(check) ${id}`, description: 'loaded' }
        : { id, label: id, description: state === 'not-loaded' ? 'not loaded' : undefined },
    );
}

export async function selectLocalModel(run: RunServerCommand): Promise<void> {
  const items = modelItems(await run('ladder.models'));
  if (items.length === 0) {
    void vscode.showWarningMessage(
      'Ladder: the local server lists no models. Is LM Studio (or your local server) running?',
    );
    return;
  }
  const picked = await vscode.showQuickPick(items, {
    title: 'Ladder: local model for this session',
    placeHolder: 'The model Ladder sends local requests to',
  });
  if (picked) await run('ladder.selectModel', [picked.id]);
}
