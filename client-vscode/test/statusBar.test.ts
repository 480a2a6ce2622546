import assert from 'node:assert/strict';
import { StatusBar, statusView, stoppedView } from '../src/statusBar';
import { fake } from './stubs/vscode';

const loaded = {
  local: {
    baseUrl: 'http://localhost:1234/v1',
    reachable: true,
    model: 'qwen2.5-coder-7b',
    models: ['qwen2.5-coder-7b', 'llama-3.2-3b'],
  },
  claude: { configured: true, model: 'claude-sonnet-4-5' },
  usage: { todayUsd: 0.12, savedUsd: 1.4 },
  lastTokensPerSecond: 31.4,
};

describe('status bar view', () => {
  it('shows model, speed and spend when the local model is loaded', () => {
    const view = statusView(loaded);
    assert.equal(view.text, '$(hubot) qwen2.5-coder-7b · 31 tok/s · $0.12');
    assert.equal(view.background, undefined);
    assert.match(view.tooltip, /Local: `qwen2.5-coder-7b`, 2 available/);
    assert.match(view.tooltip, /Claude: `claude-sonnet-4-5`, ready/);
    assert.match(view.tooltip, /Today on Claude: \$0.12 · saved by the local model: \$1.40/);
  });

  it('says offline, and where it looked, when the local server does not answer', () => {
    const view = statusView({
      local: { baseUrl: 'http://localhost:1234/v1', reachable: false, model: '', models: [] },
      claude: { configured: false, model: 'claude-sonnet-4-5' },
      usage: { todayUsd: 0, savedUsd: 0 },
    });
    assert.equal(view.text, '$(hubot) offline');
    assert.match(view.tooltip, /offline — nothing answers at `http:\/\/localhost:1234\/v1`/);
    assert.match(view.tooltip, /no API key \(Ladder: Set Claude API Key\)/);
    assert.equal(view.background, 'warning', 'no tier can serve');
  });

  it('lists the servers of a local pool, with their load and speed', () => {
    const pool = {
      ...loaded,
      local: {
        ...loaded.local,
        members: [
          {
            name: 'localhost:1234',
            up: true,
            busy: 1,
            slots: 4,
            model: 'qwen',
            tokensPerSecond: 31.4,
          },
          { name: 'gpu-box', up: false, busy: 0, slots: 2, model: '', tokensPerSecond: 0 },
        ],
      },
    };
    const view = statusView(pool);
    assert.match(view.tooltip, /- localhost:1234: 1\/4 busy · `qwen` · 31 tok\/s/);
    assert.match(view.tooltip, /- gpu-box: down/);
    assert.doesNotMatch(statusView(loaded).tooltip, /busy/, 'one server: no list');
  });

  it('is calm when only the Claude key is missing', () => {
    const view = statusView({ ...loaded, claude: { configured: false } });
    assert.match(view.tooltip, /Claude: no API key/);
    assert.equal(view.background, undefined);
  });

  it('is not a warning when Claude can serve while the local server is down', () => {
    const view = statusView({ ...loaded, local: { reachable: false } });
    assert.equal(view.text, '$(hubot) offline · $0.12');
    assert.equal(view.background, undefined);
  });

  it('shows spend to the cent, and tiny spend as <$0.01', () => {
    assert.equal(
      statusView({ ...loaded, usage: { todayUsd: 2.5 } })
        .text.split(' · ')
        .pop(),
      '$2.50',
    );
    assert.equal(
      statusView({ ...loaded, usage: { todayUsd: 0.001 } })
        .text.split(' · ')
        .pop(),
      '<$0.01',
    );
  });

  it('copes with missing, mistyped and extra fields', () => {
    assert.equal(statusView({}).text, '$(hubot) offline');
    assert.equal(statusView(null).text, '$(hubot) offline');
    assert.equal(statusView('nonsense').text, '$(hubot) offline');
    const sparse = statusView({
      local: { reachable: true, model: 7 },
      usage: 'n/a',
      newField: { x: 1 },
    });
    assert.equal(sparse.text, '$(hubot) no model loaded');
    assert.equal(
      statusView({ ...loaded, lastTokensPerSecond: 0 }).text,
      '$(hubot) qwen2.5-coder-7b · $0.12',
      'no run yet',
    );
    assert.doesNotMatch(sparse.tooltip, /Today/);
  });

  it('says why the server is not running', () => {
    const view = stoppedView('`ladder-lsp` did not start: spawn ladder-lsp ENOENT');
    assert.equal(view.text, '$(hubot) stopped');
    assert.match(view.tooltip, /ENOENT/);
    assert.equal(view.background, 'error');
  });
});

describe('status bar item', () => {
  it('opens the command menu, renders Markdown tooltips with icons, and colours warnings', () => {
    const bar = new StatusBar('ladder.showCommands');
    const item = fake.statusItems[0];
    assert.ok(item?.visible);
    assert.equal(item.command, 'ladder.showCommands');
    assert.equal(item.text, '$(sync~spin) Ladder');

    bar.show(statusView({}));
    const tooltip = item.tooltip;
    assert.ok(tooltip);
    assert.equal(tooltip.value, statusView({}).tooltip);
    assert.ok(tooltip.supportThemeIcons);
    assert.equal(item.backgroundColor?.id, 'statusBarItem.warningBackground');

    bar.show(statusView(loaded));
    assert.equal(item.backgroundColor, undefined);
  });
});
