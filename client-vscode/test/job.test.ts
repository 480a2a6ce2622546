import assert from 'node:assert/strict';
import { jobMiddleware, runJob } from '../src/job';
import { fake } from './stubs/vscode';

const PLAN = {
  goal: 'document the shop',
  units: [
    { id: 'total', path: 'shop/cart.py', symbol: 'Cart.total', action: 'docstring' },
    { id: 'net', path: 'shop/tax.py', lines: [5, 6], action: 'refactor' },
  ],
};

function server(
  dryRun: unknown = { dryRun: true, plan: PLAN, files: ['shop/cart.py', 'shop/tax.py'] },
) {
  const calls: unknown[][] = [];
  const run = (command: string, args?: unknown[]) => {
    calls.push([command, args]);
    const first = (args?.[0] ?? {}) as { dryRun?: boolean };
    return Promise.resolve(first.dryRun ? dryRun : { applied: true });
  };
  return { calls, run };
}

describe('workspace job', () => {
  it('asks for the instruction, shows the plan, then runs exactly that plan', async () => {
    const { calls, run } = server();
    fake.inputBoxAnswer = 'add docstrings';
    fake.answerMessage = () => 'Run';
    assert.deepEqual(await runJob(run, ['shop']), { applied: true });
    assert.deepEqual(calls, [
      ['ladder.job', [{ instruction: 'add docstrings', paths: ['shop'], dryRun: true }]],
      ['ladder.job', [{ plan: PLAN }]],
    ]);
    const shown = fake.messages[0];
    assert.ok(shown);
    assert.equal(shown.message, 'Ladder: run 2 units over 2 files?');
    assert.equal(
      shown.detail,
      'document the shop\n\ndocstring · shop/cart.py · Cart.total\nrefactor · shop/tax.py · lines 5-6',
    );
  });

  it('runs nothing when the user cancels the input or the plan', async () => {
    const { calls, run } = server();
    fake.inputBoxAnswer = undefined;
    await runJob(run);
    assert.deepEqual(calls, []);
    fake.inputBoxAnswer = 'add docstrings';
    fake.answerMessage = () => undefined;
    await runJob(run);
    assert.equal(calls.length, 1, 'the dry run only');
  });

  it('stops after a refused plan (the server has said why)', async () => {
    const { calls, run } = server({ applied: false, reason: "unit 'x': no symbol" });
    fake.inputBoxAnswer = 'do it';
    await runJob(run);
    assert.equal(calls.length, 1);
    assert.deepEqual(fake.messages, []);
  });

  it('routes the code action (no instruction) to the questions, anything else to the server', async () => {
    const { calls, run } = server();
    const forwarded: unknown[] = [];
    const next = (command: string, args: unknown[]) => forwarded.push([command, args]);
    const middleware = jobMiddleware(run);
    fake.inputBoxAnswer = undefined;
    await middleware('ladder.job', [{}], next);
    assert.equal(fake.inputBoxes.length, 1);
    await middleware('ladder.job', [{ instruction: 'x' }], next);
    await middleware('ladder.run', [{ action: 'refactor' }], next);
    assert.deepEqual(forwarded, [
      ['ladder.job', [{ instruction: 'x' }]],
      ['ladder.run', [{ action: 'refactor' }]],
    ]);
    assert.deepEqual(calls, []);
  });
});
