import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { missingExecutable, resolveServerCommand } from '../src/launch';
import { fake } from './stubs/vscode';

const python = process.platform === 'win32' ? 'python' : 'python3';
const noPath = { PATH: '' };

describe('server command resolution', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'ladder-launch-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  const file = (dir: string, mode: number): string => {
    mkdirSync(path.join(root, dir), { recursive: true });
    const target = path.join(root, dir, 'ladder-lsp');
    writeFileSync(target, '#!/bin/sh\n');
    chmodSync(target, mode);
    return target;
  };

  it('uses the setting as [executable, ...args]', async () => {
    fake.settings.set('ladder.server.command', ['/opt/venv/bin/python', '-m', 'ladder_lsp']);
    assert.deepEqual(await resolveServerCommand(noPath), {
      command: '/opt/venv/bin/python',
      args: ['-m', 'ladder_lsp'],
    });
  });

  it('takes a string setting as the executable, spaces and all', async () => {
    fake.settings.set('ladder.server.command', '/Users/me/My Tools/ladder-lsp');
    assert.deepEqual(await resolveServerCommand(noPath), {
      command: '/Users/me/My Tools/ladder-lsp',
      args: [],
    });
  });

  it('ignores an empty setting and finds an executable ladder-lsp on PATH', async () => {
    fake.settings.set('ladder.server.command', []);
    file('not-executable', 0o644);
    const found = file('bin', 0o755);
    const PATH = [
      path.join(root, 'missing'),
      path.join(root, 'not-executable'),
      path.join(root, 'bin'),
    ].join(path.delimiter);
    assert.deepEqual(await resolveServerCommand({ PATH }), { command: found, args: [] });
  });

  it("falls back to the Python extension's active environment", async () => {
    fake.extensions.set('ms-python.python', {
      isActive: true,
      exports: {
        ready: Promise.resolve(),
        environments: {
          getActiveEnvironmentPath: () => ({ id: 'venv', path: '/work/.venv' }),
          resolveEnvironment: (env: { path: string }) =>
            Promise.resolve({ executable: { uri: { fsPath: `${env.path}/bin/python` } } }),
        },
      },
    });
    assert.deepEqual(await resolveServerCommand(noPath), {
      command: '/work/.venv/bin/python',
      args: ['-m', 'ladder_lsp'],
    });
  });

  it('activates an older Python extension and uses its execution details', async () => {
    fake.extensions.set('ms-python.python', {
      isActive: false,
      activate: () =>
        Promise.resolve({
          settings: {
            getExecutionDetails: () => ({ execCommand: ['conda', 'run', '-n', 'dev', 'python'] }),
          },
        }),
    });
    assert.deepEqual(await resolveServerCommand(noPath), {
      command: 'conda',
      args: ['run', '-n', 'dev', 'python', '-m', 'ladder_lsp'],
    });
  });

  it(`runs ${python} -m ladder_lsp when nothing else is found`, async () => {
    const expected = { command: python, args: ['-m', 'ladder_lsp'] };
    assert.deepEqual(await resolveServerCommand(noPath), expected);

    fake.extensions.set('ms-python.python', {
      isActive: false,
      activate: () => Promise.reject(new Error('activation failed')),
    });
    assert.deepEqual(await resolveServerCommand(noPath), expected);
  });

  it('says why a server path cannot run, and leaves bare names to the PATH lookup', async () => {
    const runnable = file('bin', 0o755);
    const plain = file('plain', 0o644);
    const nothing = path.join(root, 'missing', 'ladder-lsp');
    assert.equal(await missingExecutable(runnable), undefined);
    assert.equal(await missingExecutable('ladder-lsp'), undefined);
    assert.equal(await missingExecutable(nothing), `${nothing} does not exist`);
    assert.equal(await missingExecutable(root), `${root} is not a file`);
    if (process.platform !== 'win32') {
      assert.equal(await missingExecutable(plain), `${plain} is not executable`);
    }
  });
});
