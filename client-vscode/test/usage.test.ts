import assert from 'node:assert/strict';
import { showUsage, usageMarkdown } from '../src/usage';
import { fake } from './stubs/vscode';

// The shape of the server's ledger report.
const report = {
  days: [
    {
      day: '2026-11-24',
      tiers: {
        claude: { runs: 2, localTokens: null, claudeTokens: 3100, costUsd: 0.1234 },
        local: { runs: 10, localTokens: 12000, claudeTokens: null, costUsd: 0 },
      },
      costUsd: 0.1234,
      savedUsd: 1.4,
    },
  ],
  tiers: { claude: { runs: 2, costUsd: 0.1234 }, local: { runs: 10, costUsd: 0 } },
  savedUsd: 1.4,
  localShare: 0.833,
  futureField: 'ignored',
};

describe('usage report', () => {
  it('shows savings, totals per tier, and each day per tier', () => {
    assert.equal(
      usageMarkdown(report),
      [
        '# Ladder usage',
        '',
        'Saved by running locally: **$1.40** · local share of runs: **83%**',
        '',
        '## All days',
        '',
        '| Tier | Runs | Cost |',
        '| --- | ---: | ---: |',
        '| claude | 2 | $0.12 |',
        '| local | 10 | $0.00 |',
        '',
        '## 2026-11-24: spent $0.12, saved $1.40',
        '',
        '| Tier | Runs | Local tokens | Claude tokens | Cost |',
        '| --- | ---: | ---: | ---: | ---: |',
        '| claude | 2 | 0 | 3,100 | $0.12 |',
        '| local | 10 | 12,000 | 0 | $0.00 |',
        '',
      ].join('\n'),
    );
  });

  it('says when nothing was recorded, whatever the server sent', () => {
    for (const empty of [{ days: [], tiers: {}, savedUsd: 0 }, null, 'n/a']) {
      assert.match(usageMarkdown(empty), /No runs recorded yet/);
    }
  });

  it('opens the report as a Markdown preview', async () => {
    await showUsage((command) => Promise.resolve(command === 'ladder.usage' ? report : undefined));
    const [document] = fake.documents;
    assert.ok(document);
    assert.equal(document.language, 'markdown');
    assert.match(document.content, /# Ladder usage/);
    assert.deepEqual(fake.executed, [{ id: 'markdown.showPreview', args: [document.uri] }]);
  });
});
