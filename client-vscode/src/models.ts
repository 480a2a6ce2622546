// Ladder: Select Local Model — the server's `ladder.models` list (protocol.ts) as a quick pick.
import type { QuickPickItem } from 'vscode';
import type { RunServerCommand } from './client';
import { readModels } from './protocol';
import * as vscode from './vscodeApi';

export interface ModelItem extends QuickPickItem {
  id: string;
}

/** `ladder.models` → items, loaded models first and marked; entries without an id left out. */
export function modelItems(models: unknown): ModelItem[] {
  return readModels(models)
    .flatMap(({ id, state }) => (id === undefined ? [] : [{ id, state }]))
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
