import assert from 'node:assert/strict';
import { modelItems, selectLocalModel } from '../src/models';
import { fake } from './stubs/vscode';

describe('local model quick pick', () => {
  it('lists loaded models first, marked', () => {
    const items = modelItems([
      { id: 'llama-3.2-3b', state: 'not-loaded' },
      { id: 'qwen2.5-coder-7b', state: 'loaded', max_context_length: 32768 },
      { id: 'phi-4' },
    ]);
    assert.deepEqual(items, [
      { id: 'qwen2.5-coder-7b', label: '$(check) qwen2.5-coder-7b', description: 'loaded' },
      { id: 'llama-3.2-3b', label: 'llama-3.2-3b', description: 'not loaded' },
      { id: 'phi-4', label: 'phi-4', description: undefined },
    ]);
  });

  it('accepts plain ids and skips entries without one', () => {
    assert.deepEqual(
      modelItems([null, 3, { state: 'loaded' }, 'smollm2']).map((item) => item.id),
      ['smollm2'],
    );
    assert.deepEqual(modelItems({ error: 'unreachable' }), []);
  });

  it('sends the chosen model to the server', async () => {
    const calls: unknown[][] = [];
    const run = (command: string, args?: unknown[]) => {
      calls.push([command, args]);
      return Promise.resolve(
        command === 'ladder.models' ? [{ id: 'a' }, { id: 'b', state: 'loaded' }] : null,
      );
    };
    fake.pickItem = (items) => items.find((item) => (item as { id: string }).id === 'a');
    await selectLocalModel(run);
    assert.deepEqual(calls, [
      ['ladder.models', undefined],
      ['ladder.selectModel', ['a']],
    ]);
  });

  it('does nothing when the user cancels', async () => {
    const calls: string[] = [];
    fake.pickItem = () => undefined;
    await selectLocalModel((command) => {
      calls.push(command);
      return Promise.resolve([{ id: 'a' }]);
    });
    assert.deepEqual(calls, ['ladder.models']);
  });

  it('says so when there is no model to choose', async () => {
    await selectLocalModel(() => Promise.resolve([]));
    assert.equal(fake.quickPicks.length, 0);
    assert.match(fake.messages[0]?.message ?? '', /lists no models/);
  });
});
