import assert from 'node:assert/strict';
import {
  HISTORY_KEY,
  HISTORY_SIZE,
  InstructionHistory,
  instructionMiddleware,
} from '../src/instructions';
import { fake } from './stubs/vscode';

class FakeMemento {
  readonly values = new Map<string, unknown>();
  get(key: string): unknown {
    return this.values.get(key);
  }
  update(key: string, value: unknown): Promise<void> {
    this.values.set(key, value);
    return Promise.resolve();
  }
  keys(): string[] {
    return [...this.values.keys()];
  }
}

function setUp() {
  const memento = new FakeMemento();
  const history = new InstructionHistory(memento);
  const sent: { command: string; args: unknown[] }[] = [];
  const middleware = instructionMiddleware(history);
  const run = (command: string, args: unknown[]) =>
    middleware(command, args, (c, a) => {
      sent.push({ command: c, args: a });
      return { applied: true };
    });
  return { memento, history, sent, run };
}

const EDIT = { action: 'edit', uri: 'file:///a.py', range: {}, version: 1 };

describe('instruction input box', () => {
  it('asks for the instruction of an edit and sends it with ladder.run', async () => {
    const { sent, run, history } = setUp();
    fake.inputBoxAnswer = '  use pathlib  ';
    const result = await run('ladder.run', [EDIT]);
    assert.deepEqual(result, { applied: true });
    assert.equal(fake.inputBoxes.length, 1, 'no history yet: straight to the input box');
    assert.deepEqual(sent, [
      { command: 'ladder.run', args: [{ ...EDIT, instruction: 'use pathlib' }] },
    ]);
    assert.deepEqual(history.recent(), ['use pathlib']);
  });

  it('sends nothing when the user cancels or leaves it blank', async () => {
    const { sent, run } = setUp();
    for (const answer of [undefined, '   ']) {
      fake.inputBoxAnswer = answer;
      assert.deepEqual(await run('ladder.run', [EDIT]), { applied: false, reason: 'cancelled' });
    }
    assert.deepEqual(sent, []);
  });

  it('offers recent instructions first; picking one sends it without typing', async () => {
    const { sent, run, history } = setUp();
    await history.remember('handle None');
    await history.remember('make it async');
    fake.pickItem = (items) => items[2];
    await run('ladder.run', [EDIT]);
    const [pick] = fake.quickPicks;
    assert.deepEqual(
      (pick?.items as { label: string }[]).map((item) => item.label),
      ['$(edit) New instruction…', 'make it async', 'handle None'],
    );
    assert.equal(fake.inputBoxes.length, 0);
    assert.deepEqual(sent[0]?.args, [{ ...EDIT, instruction: 'handle None' }]);
    assert.deepEqual(history.recent(), ['handle None', 'make it async'], 'most recent first');
  });

  it('"New instruction…" opens the input box', async () => {
    const { sent, run, history } = setUp();
    await history.remember('handle None');
    fake.pickItem = (items) => items[0];
    fake.inputBoxAnswer = 'add type hints';
    await run('ladder.run', [EDIT]);
    assert.equal(fake.inputBoxes.length, 1);
    assert.deepEqual(sent[0]?.args, [{ ...EDIT, instruction: 'add type hints' }]);
  });

  it('remembers the last 20 instructions, without repeats', async () => {
    const { history, memento } = setUp();
    for (let i = 0; i < 25; i++) await history.remember(`instruction ${i}`);
    await history.remember('instruction 20');
    const kept = memento.get(HISTORY_KEY) as string[];
    assert.equal(kept.length, HISTORY_SIZE);
    assert.equal(kept[0], 'instruction 20');
    assert.equal(new Set(kept).size, kept.length);
    assert.equal(kept.at(-1), 'instruction 5');
  });

  it('leaves other commands and other actions alone', async () => {
    const { sent, run } = setUp();
    await run('ladder.run', [{ ...EDIT, action: 'refactor' }]);
    await run('ladder.run', [{ ...EDIT, instruction: 'given already' }]);
    await run('ladder.status', []);
    assert.equal(fake.inputBoxes.length + fake.quickPicks.length, 0);
    assert.equal(sent.length, 3);
  });
});
