// Regenerates package.json `contributes.configuration` from settings.schema.json (written by
// `ladder-lsp settings-schema`). The Claude key is left out: it lives in VS Code's secret storage.
// The extension's own settings (server command, trace) are added here.
import { readFileSync, writeFileSync } from 'node:fs';

const SECRET_STORAGE_KEYS = ['ladder.claude.apiKey'];
const VSCODE_FIELDS = ['type', 'default', 'description', 'enum', 'minimum', 'items', 'scope'];
const EXTENSION_SETTINGS = {
  'ladder.server.command': {
    type: ['array', 'string'],
    items: { type: 'string' },
    default: [],
    markdownDescription:
      "How to start the Ladder server: an executable, or `[executable, ...arguments]`. Empty: `ladder-lsp` on PATH, else the Python extension's interpreter with `-m ladder_lsp`, else `python3 -m ladder_lsp`.",
    scope: 'machine-overridable',
  },
  'ladder.trace.server': {
    type: 'string',
    enum: ['off', 'messages', 'verbose'],
    default: 'off',
    description:
      'Traces the communication between VS Code and the Ladder server in the Ladder output.',
    scope: 'window',
  },
};

const pick = (entry) =>
  Object.fromEntries(VSCODE_FIELDS.filter((f) => f in entry).map((f) => [f, entry[f]]));

const read = (name) => JSON.parse(readFileSync(new URL(`../${name}`, import.meta.url), 'utf8'));
const schema = read('settings.schema.json');
const pkg = read('package.json');

const properties = Object.fromEntries(
  Object.entries(schema)
    .filter(([key]) => !SECRET_STORAGE_KEYS.includes(key))
    .map(([key, entry]) => [key, pick(entry)]),
);
pkg.contributes.configuration = {
  title: 'Ladder',
  properties: { ...properties, ...EXTENSION_SETTINGS },
};
writeFileSync(new URL('../package.json', import.meta.url), `${JSON.stringify(pkg, null, 2)}\n`);
console.log(
  `package.json: ${Object.keys(pkg.contributes.configuration.properties).length} settings`,
);
