import assert from 'node:assert/strict';
import type { CancellationToken } from 'vscode-languageclient/node';
import { configurationMiddleware, initializationOptions } from '../src/settings';

const reader = (values: Record<string, unknown>) => ({ get: (key: string) => values[key] });

describe('settings → initializationOptions', () => {
  it('nests each setting under its section', () => {
    const options = initializationOptions(
      reader({
        'local.baseUrl': 'http://127.0.0.1:8080/v1',
        'local.maxParallel': 2,
        'claude.model': 'claude-opus-4-1',
        'routing.mode': 'local',
        'routing.escalateOnFailure': false,
        'privacy.localOnly': ['**/.env'],
        'budget.dailyUsd': 0,
        'actions.custom': [{ id: 'tidy', title: 'Tidy', prompt: 'Tidy {code}' }],
      }),
    );
    assert.deepEqual(options, {
      local: { baseUrl: 'http://127.0.0.1:8080/v1', maxParallel: 2 },
      claude: { model: 'claude-opus-4-1' },
      routing: { mode: 'local', escalateOnFailure: false },
      privacy: { localOnly: ['**/.env'] },
      budget: { dailyUsd: 0 },
      actions: { custom: [{ id: 'tidy', title: 'Tidy', prompt: 'Tidy {code}' }] },
    });
  });

  it('never includes the API keys, wherever the user put them', () => {
    const options = initializationOptions(
      reader({
        'claude.apiKey': 'sk-ant-in-settings',
        'local.apiKey': 'lm-studio-key',
        'local.model': 'm',
      }),
    );
    assert.deepEqual(options, { local: { model: 'm' } });
  });

  it("leaves out the extension's own settings", () => {
    const options = initializationOptions(
      reader({ 'server.command': ['ladder-lsp'], 'trace.server': 'verbose' }),
    );
    assert.deepEqual(options, {});
  });
});

describe('workspace/configuration middleware', () => {
  const token = {} as CancellationToken;

  it("drops the extension's sections from the ladder section, and only there", async () => {
    const result = await configurationMiddleware(
      { items: [{ section: 'ladder' }, { section: 'editor' }] },
      token,
      () => [
        { local: { baseUrl: 'http://x/v1' }, server: { command: [] }, trace: { server: 'off' } },
        { server: 1 },
      ],
    );
    assert.deepEqual(result, [{ local: { baseUrl: 'http://x/v1' } }, { server: 1 }]);
  });

  it('passes anything else through untouched', async () => {
    const result = await configurationMiddleware({ items: [{ section: 'ladder' }] }, token, () => [
      null,
    ]);
    assert.deepEqual(result, [null]);
  });
});
