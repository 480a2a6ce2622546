// The readers keep every field the server sends (payloads shaped as lsp/server.py and
// store/ledger.py send them), and drop mistyped ones instead of passing them on.
import assert from 'node:assert/strict';
import {
  readModels,
  readStatus,
  readUsage,
  type LadderStatus,
  type LocalModel,
  type UsageReport,
} from '../src/protocol';

const status = {
  local: {
    baseUrl: 'http://localhost:1234/v1',
    reachable: true,
    model: 'qwen2.5-coder-7b',
    models: ['qwen2.5-coder-7b', 'text-embedding-nomic'],
    members: [
      {
        name: 'localhost:1234',
        baseUrl: 'http://localhost:1234/v1',
        up: true,
        busy: 0,
        slots: 4,
        model: 'qwen2.5-coder-7b',
        tokensPerSecond: 31.4,
      },
    ],
  },
  claude: { configured: false, model: 'claude-sonnet-4-5' },
  usage: { todayUsd: 0.0123, savedUsd: 1.5 },
  lastTokensPerSecond: 31.4,
} satisfies LadderStatus;

const models = [
  { id: 'qwen2.5-coder-7b', state: 'loaded', type: 'llm', maxContextLength: 32768 },
  { id: 'text-embedding-nomic', state: 'not-loaded', type: 'embeddings', maxContextLength: null },
  { id: 'plain-openai', state: null, type: null, maxContextLength: null },
] satisfies LocalModel[];

const usage = {
  days: [
    {
      day: '2026-11-24',
      tiers: {
        claude: { runs: 2, localTokens: 0, claudeTokens: 3100, costUsd: 0.1234 },
        none: { runs: 1, localTokens: 0, claudeTokens: 0, costUsd: 0 },
      },
      costUsd: 0.1234,
      savedUsd: 0.4,
      deliveries: { applied: 2, stale: 1 },
    },
  ],
  tiers: { claude: { runs: 2, costUsd: 0.1234 }, none: { runs: 1, costUsd: 0 } },
  savedUsd: 0.4,
  localShare: 0,
  deliveries: { applied: 2, stale: 1 },
} satisfies UsageReport;

describe('server payloads', () => {
  it('are read whole', () => {
    assert.deepEqual(readStatus(status), status);
    assert.deepEqual(readModels(models), models);
    assert.deepEqual(readUsage(usage), usage);
  });

  it('lose their mistyped fields, and only those', () => {
    const read = readStatus({ ...status, local: { ...status.local, reachable: 'yes', models: 3 } });
    assert.equal(read.local?.reachable, undefined);
    assert.equal(read.local?.models, undefined);
    assert.equal(read.local?.model, 'qwen2.5-coder-7b');
    assert.deepEqual(readModels([{ id: 'm', state: 'warming', maxContextLength: '4k' }]), [
      { id: 'm', state: undefined, type: undefined, maxContextLength: undefined },
    ]);
    const day = readUsage({ days: [{ tiers: { local: { runs: '3' } } }] }).days?.[0];
    assert.equal(day?.tiers?.local?.runs, undefined);
    assert.equal(day?.day, undefined);
  });
});
