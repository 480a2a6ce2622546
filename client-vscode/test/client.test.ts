import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import served from '../languages.json';
import { LadderClient } from '../src/client';
import { StatusBar } from '../src/statusBar';
import { CloseAction, LanguageClient, State } from './stubs/languageclient';
import { fake, FakeOutputChannel, FakeSecretStorage } from './stubs/vscode';

function makeClient() {
  const output = new FakeOutputChannel('Ladder');
  const ladder = new LadderClient(
    new FakeSecretStorage(),
    output,
    new StatusBar('ladder.showCommands'),
  );
  return { ladder, output, item: () => fake.statusItems[0] };
}

describe('language client', () => {
  beforeEach(() => {
    fake.settings.set('ladder.server.command', ['ladder-lsp']);
  });

  it('launches the server over stdio, for the served languages in files and untitled documents, synced with ladder.*', async () => {
    fake.settings.set('ladder.local.baseUrl', 'http://127.0.0.1:9000/v1');
    const { ladder, output } = makeClient();
    await ladder.restart();
    const [client] = LanguageClient.instances;
    assert.ok(client?.isRunning() === true);
    assert.equal(client.id, 'ladder', 'so that ladder.trace.server applies');
    assert.equal(client.serverOptions.command, 'ladder-lsp');
    assert.deepEqual(client.serverOptions.args, []);
    assert.equal('transport' in client.serverOptions, false, 'a transport would append --stdio');
    const options = client.clientOptions;
    assert.deepEqual(
      options.documentSelector,
      served.languages.flatMap((language) => [
        { scheme: 'file', language },
        { scheme: 'untitled', language },
      ]),
      'the languages the server serves (languages.json), in files and untitled documents',
    );
    assert.deepEqual(options.synchronize, { configurationSection: 'ladder' });
    assert.deepEqual(options.initializationOptions, {
      local: { baseUrl: 'http://127.0.0.1:9000/v1' },
    });
    assert.equal(options.outputChannel, output);
    assert.ok(options.middleware?.workspace?.configuration);
  });

  it('shows each ladder/status notification in the status bar', async () => {
    const { ladder, item } = makeClient();
    await ladder.restart();
    LanguageClient.instances[0]?.notify('ladder/status', {
      local: { reachable: true, model: 'smollm2' },
      lastTokensPerSecond: 29.6,
    });
    assert.equal(item()?.text, '$(hubot) smollm2 · 30 tok/s');
  });

  it('restarts with a fresh client and stops the old one', async () => {
    const { ladder } = makeClient();
    await ladder.restart();
    await ladder.restart();
    const [first, second] = LanguageClient.instances;
    assert.ok(first?.disposed === true && second?.isRunning() === true);
    await ladder.stop();
    assert.ok(second.disposed);
  });

  it('runs server commands through workspace/executeCommand', async () => {
    LanguageClient.serverCommands['ladder.models'] = () => [{ id: 'm', state: 'loaded' }];
    const { ladder } = makeClient();
    await assert.rejects(ladder.executeCommand('ladder.models'), /not running/);
    await ladder.restart();
    assert.deepEqual(await ladder.executeCommand('ladder.models'), [{ id: 'm', state: 'loaded' }]);
  });

  it('restarts a crashed server, but not one that dies while starting', async () => {
    const { ladder } = makeClient();
    await ladder.restart();
    const [client] = LanguageClient.instances;
    const handler = client?.clientOptions.errorHandler;
    assert.ok(client && handler);
    assert.deepEqual(await handler.closed(), { action: CloseAction.Restart });
    client.state = State.Starting;
    assert.deepEqual(await handler.closed(), { action: CloseAction.DoNotRestart, handled: true });
  });

  it('explains how to install the server when it cannot start', async () => {
    LanguageClient.startError = new Error('spawn ladder-lsp ENOENT');
    fake.answerMessage = (message) => (message.kind === 'error' ? 'How to install' : undefined);
    const { ladder, item } = makeClient();
    await ladder.restart();
    await new Promise((resolve) => setImmediate(resolve));

    assert.equal(item()?.text, '$(hubot) stopped');
    const [error, help] = fake.messages;
    assert.equal(
      error?.message,
      'Ladder: could not start the server (ladder-lsp): spawn ladder-lsp ENOENT',
    );
    assert.deepEqual(error.actions, ['How to install', 'Open Setting', 'Show Output']);
    assert.match(help?.detail ?? '', /pip install ladder-lsp/);
  });

  it('names a server path that does not exist and opens its setting, without spawning it', async () => {
    const missing = path.join(tmpdir(), 'ladder-no-such-dir', 'ladder-lsp');
    fake.settings.set('ladder.server.command', [missing, '--log-level', 'DEBUG']);
    fake.answerMessage = (message) => (message.kind === 'error' ? 'Open Setting' : undefined);
    const { ladder, item, output } = makeClient();
    await ladder.restart();
    await new Promise((resolve) => setImmediate(resolve));

    assert.equal(LanguageClient.instances.length, 0);
    assert.equal(item()?.text, '$(hubot) stopped');
    assert.deepEqual(fake.messages, [
      {
        kind: 'error',
        message: `Ladder: cannot start the server: ${missing} does not exist (setting "ladder.server.command").`,
        actions: ['Open Setting', 'Show Output'],
      },
    ]);
    assert.deepEqual(fake.executed, [
      { id: 'workbench.action.openSettings', args: ['ladder.server.command'] },
    ]);
    assert.match(output.text, /does not exist/);
  });

  it('opens the setting in the Remote settings in a remote window, where machine settings live', async () => {
    fake.remoteName = 'ssh-remote';
    fake.settings.set('ladder.server.command', path.join(tmpdir(), 'ladder-no-such-dir', 'x'));
    fake.answerMessage = (message) => (message.kind === 'error' ? 'Open Setting' : undefined);
    await makeClient().ladder.restart();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(fake.executed, [
      { id: 'workbench.action.openRemoteSettings', args: [{ query: 'ladder.server.command' }] },
    ]);
  });

  it('notices a server that exits while starting', async () => {
    LanguageClient.exitsWhileStarting = true;
    const { ladder, item } = makeClient();
    await ladder.restart();
    assert.equal(item()?.text, '$(hubot) stopped');
    assert.equal(
      fake.messages[0]?.message,
      'Ladder: could not start the server (ladder-lsp): it exited while starting',
    );
  });
});
