import assert from 'node:assert/strict';
import { runDoctor } from '../src/doctor';
import { FakeOutputChannel } from './stubs/vscode';

// A stand-in server: node running a script, with `doctor` appended to its arguments.
const server = (script: string) => ({ command: process.execPath, args: ['-e', script] });

describe('doctor', () => {
  it('streams the report into the Ladder output and succeeds on exit 0', async () => {
    const output = new FakeOutputChannel('Ladder');
    const script =
      'console.log("local: reachable, " + process.argv[1]); console.error("claude: key " + process.env.ANTHROPIC_API_KEY)';
    assert.equal(await runDoctor(server(script), { ANTHROPIC_API_KEY: 'set' }, output), true);
    assert.ok(output.shown);
    assert.match(output.text, /^\$ .* doctor\n/);
    assert.match(output.text, /local: reachable, doctor\n/);
    assert.match(output.text, /claude: key set\n/);
    assert.match(output.text, /\[doctor exited with code 0\]\n$/);
  });

  it('fails when no tier can serve', async () => {
    const output = new FakeOutputChannel('Ladder');
    assert.equal(await runDoctor(server('process.exit(1)'), {}, output), false);
    assert.match(output.text, /exited with code 1/);
  });

  it('says so when the server command does not exist', async () => {
    const output = new FakeOutputChannel('Ladder');
    const missing = { command: 'ladder-lsp-that-does-not-exist', args: [] };
    assert.equal(await runDoctor(missing, {}, output), false);
    assert.match(output.text, /Could not run ladder-lsp-that-does-not-exist doctor: .*ENOENT/);
    assert.doesNotMatch(output.text, /exited/);
  });
});
