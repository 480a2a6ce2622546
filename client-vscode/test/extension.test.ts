import assert from 'node:assert/strict';
import type { ExtensionContext } from 'vscode';
import { COMMANDS } from '../src/commands';
import { activate, deactivate } from '../src/extension';
import { LanguageClient } from './stubs/languageclient';
import { fake, FakeSecretStorage } from './stubs/vscode';

describe('activation', () => {
  let subscriptions: { dispose(): unknown }[];

  beforeEach(async () => {
    fake.settings.set('ladder.server.command', 'ladder-lsp');
    subscriptions = [];
    await activate({
      subscriptions,
      secrets: new FakeSecretStorage(),
    } as unknown as ExtensionContext);
  });
  afterEach(() => deactivate());

  it('starts the server, shows the status item and registers every command', () => {
    assert.equal(LanguageClient.instances.length, 1);
    assert.equal(fake.channels[0]?.name, 'Ladder');
    assert.ok(fake.statusItems[0]?.visible);
    assert.deepEqual(
      [...fake.commands.keys()],
      COMMANDS.map(({ id }) => id),
    );
    assert.ok(subscriptions.length > COMMANDS.length);
  });

  it('restarts the server when its command changes, and only then', async () => {
    fake.changeSetting('ladder.routing.mode', 'local');
    fake.changeSetting('ladder.server.command', [process.execPath, 'server.js']);
    await deactivate();
    assert.equal(LanguageClient.instances.length, 2);
    assert.equal(LanguageClient.instances[1]?.serverOptions.command, process.execPath);
    assert.ok(LanguageClient.instances.every((client) => client.disposed));
  });

  it('offers the Ladder commands from the status bar', async () => {
    fake.pickItem = (items) =>
      items.find((item) => (item as { id: string }).id === 'ladder.restartServer');
    await fake.run('ladder.showCommands');
    const labels = (fake.quickPicks[0]?.items ?? []).map(
      (item) => (item as { label: string }).label,
    );
    assert.equal(labels.length, COMMANDS.length - 1);
    assert.ok(!labels.includes('Show Commands'));
    assert.deepEqual(fake.executed.at(-1), { id: 'ladder.restartServer', args: [] });
  });

  it('reports a failing command instead of throwing', async () => {
    await deactivate();
    await fake.run('ladder.showUsage');
    assert.match(fake.messages.at(-1)?.message ?? '', /^Ladder: the server is not running/);
  });
});
