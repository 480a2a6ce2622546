// Loaded by mocha before the tests: `vscode` and `vscode-languageclient/node` resolve to stubs.
import Module from 'node:module';
import { LanguageClient } from './stubs/languageclient';
import { fake } from './stubs/vscode';

const stubs: Record<string, string> = {
  vscode: require.resolve('./stubs/vscode'),
  'vscode-languageclient/node': require.resolve('./stubs/languageclient'),
};

type Resolve = (request: string, ...rest: unknown[]) => string;
const loader = Module as unknown as { _resolveFilename: Resolve };
const resolve = loader._resolveFilename;
loader._resolveFilename = (request, ...rest) =>
  resolve.call(loader, stubs[request] ?? request, ...rest);

export const mochaHooks = {
  beforeEach(): void {
    fake.reset();
    LanguageClient.reset();
  },
};
