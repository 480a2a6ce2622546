import assert from 'node:assert/strict';
import { LadderClient } from '../src/client';
import { registerCommands } from '../src/commands';
import { serverEnv } from '../src/secrets';
import { StatusBar } from '../src/statusBar';
import { LanguageClient } from './stubs/languageclient';
import { fake, FakeOutputChannel, FakeSecretStorage } from './stubs/vscode';

const KEY = 'sk-ant-api03-very-secret';

describe('Claude API key', () => {
  let secrets: FakeSecretStorage;
  let output: FakeOutputChannel;
  let ladder: LadderClient;
  const inherited = process.env.ANTHROPIC_API_KEY;

  beforeEach(() => {
    delete process.env.ANTHROPIC_API_KEY;
    fake.settings.set('ladder.server.command', ['ladder-lsp', '--log-level', 'debug']);
    secrets = new FakeSecretStorage();
    output = new FakeOutputChannel('Ladder');
    ladder = new LadderClient(secrets, output, new StatusBar('ladder.showCommands'));
    registerCommands(ladder, secrets, output);
  });
  afterEach(() => {
    if (inherited === undefined) delete process.env.ANTHROPIC_API_KEY;
    else process.env.ANTHROPIC_API_KEY = inherited;
  });

  const lastClient = () => LanguageClient.instances.at(-1);

  it('reaches the server as ANTHROPIC_API_KEY and nowhere else', async () => {
    await secrets.store('ladder.claude.apiKey', KEY);
    fake.settings.set('ladder.local.apiKey', 'lm-key');
    await ladder.restart();
    const client = lastClient();
    assert.ok(client);
    const env = client.serverOptions.options?.env;
    assert.equal(env?.ANTHROPIC_API_KEY, KEY);
    assert.equal(env.PATH, process.env.PATH, 'the client passes env as is: it must be complete');
    assert.doesNotMatch(JSON.stringify(client.serverOptions.args), /sk-ant/);
    assert.doesNotMatch(
      JSON.stringify(client.clientOptions.initializationOptions),
      /sk-ant|lm-key/,
    );
    assert.match(output.text, /Starting ladder-lsp --log-level debug/);
    assert.doesNotMatch(output.text, /sk-ant/);
  });

  it('is asked for in a password box, stored as a secret, and restarts the server', async () => {
    await ladder.restart();
    fake.inputBoxAnswer = `  ${KEY}\n`;
    await fake.run('ladder.setClaudeKey');
    assert.equal(fake.inputBoxes[0]?.password, true);
    assert.equal(await secrets.get('ladder.claude.apiKey'), KEY);
    assert.equal(LanguageClient.instances.length, 2);
    assert.ok(LanguageClient.instances[0]?.disposed);
    assert.equal(lastClient()?.serverOptions.options?.env?.ANTHROPIC_API_KEY, KEY);
    assert.equal(fake.settings.has('ladder.claude.apiKey'), false, 'never written to settings');
    assert.doesNotMatch(output.text, /sk-ant/);
  });

  it('changes nothing when the input box is dismissed', async () => {
    await ladder.restart();
    await fake.run('ladder.setClaudeKey');
    assert.equal(await secrets.get('ladder.claude.apiKey'), undefined);
    assert.equal(LanguageClient.instances.length, 1);
  });

  it('is cleared, and the server restarted without it', async () => {
    await secrets.store('ladder.claude.apiKey', KEY);
    await ladder.restart();
    await fake.run('ladder.clearClaudeKey');
    assert.equal(await secrets.get('ladder.claude.apiKey'), undefined);
    assert.equal(lastClient()?.serverOptions.options?.env?.ANTHROPIC_API_KEY, undefined);
    assert.equal(LanguageClient.instances.length, 2);
  });

  it('wins over an inherited ANTHROPIC_API_KEY without changing our own environment', () => {
    const base = { PATH: '/bin', ANTHROPIC_API_KEY: 'from-shell' };
    assert.deepEqual(serverEnv(base, KEY), { PATH: '/bin', ANTHROPIC_API_KEY: KEY });
    assert.deepEqual(serverEnv(base, undefined), base);
    assert.equal(base.ANTHROPIC_API_KEY, 'from-shell');
  });
});
