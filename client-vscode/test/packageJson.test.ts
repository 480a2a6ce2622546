// package.json must contribute exactly the settings the server declares in settings.schema.json
// (regenerate with `npm run sync-settings`), and exactly the commands the extension registers;
// languages.json is the output of `ladder-lsp languages` (a server test keeps it current).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { COMMANDS } from '../src/commands';
import { EXTENSION_SECTIONS } from '../src/settings';

type Json = Record<string, unknown>;
const read = (name: string): Json =>
  JSON.parse(readFileSync(path.join(__dirname, '..', name), 'utf8')) as Json;

const schema = read('settings.schema.json') as Record<string, Json>;
const pkg = read('package.json') as {
  activationEvents: string[];
  contributes: { configuration: { properties: Record<string, Json> }; commands: Json[] };
};
const languages = read('languages.json').languages as string[];
const contributed = pkg.contributes.configuration.properties;
const SYNC = 'out of date: run `npm run sync-settings`';

describe('package.json ↔ settings.schema.json', () => {
  it('contributes every server setting with the same type, default, enum and bounds', () => {
    for (const [key, entry] of Object.entries(schema)) {
      if (key === 'ladder.claude.apiKey') continue;
      const setting = contributed[key];
      assert.ok(setting, `${key} missing: ${SYNC}`);
      for (const field of ['type', 'default', 'enum', 'minimum', 'items', 'scope', 'description']) {
        assert.deepEqual(setting[field], entry[field], `${key}.${field} ${SYNC}`);
      }
    }
  });

  it('keeps the Claude key out of settings: it lives in secret storage', () => {
    assert.ok(schema['ladder.claude.apiKey'], 'the schema still declares it');
    assert.equal(contributed['ladder.claude.apiKey'], undefined);
    assert.ok(contributed['ladder.local.apiKey']);
  });

  it("adds only the extension's own settings", () => {
    const extra = Object.keys(contributed).filter((key) => !(key in schema));
    assert.deepEqual(extra.sort(), ['ladder.server.command', 'ladder.trace.server']);
    for (const key of extra) assert.ok(EXTENSION_SECTIONS.includes(key.split('.')[1] ?? ''), key);
  });
});

describe('package.json commands', () => {
  it('match the commands the extension registers', () => {
    assert.deepEqual(
      pkg.contributes.commands,
      COMMANDS.map(({ id, title }) => ({ command: id, title, category: 'Ladder' })),
    );
  });
});

describe('languages.json', () => {
  it('lists languageIds, each once, sorted, Python among them', () => {
    assert.ok(languages.every((id) => typeof id === 'string' && /^[a-z0-9+#-]+$/.test(id)));
    assert.deepEqual([...new Set(languages)].sort(), languages);
    assert.ok(languages.includes('python'));
  });

  it('is what activation by language, if any, names', () => {
    const byLanguage = pkg.activationEvents.filter((event) => event.startsWith('onLanguage:'));
    for (const event of byLanguage) assert.ok(languages.includes(event.slice(11)), event);
  });
});
