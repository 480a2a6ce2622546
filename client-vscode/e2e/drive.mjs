// Drives code-server's real workbench with Chromium: each step does what a user does, checks what
// the user sees, and leaves screenshots in E2E_OUT. run.sh starts everything and sets E2E_*.
// A step is { name, run(ui) }: add one to STEPS (in the order a user would meet it).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const env = process.env;
const { chromium } = createRequire(import.meta.url)(env.E2E_PLAYWRIGHT);
const testCase = JSON.parse(readFileSync(env.E2E_CASE, 'utf8'));
const TIMEOUT = 60_000; // ms for anything the user waits for (the first server start included)

const STEPS = [
  { name: 'status-bar', run: statusBarShowsLocalModel },
  { name: 'refactor', run: refactorWithLocalModel },
  { name: 'claude-key', run: claudeKeyInSecretStorage },
  { name: 'instruction-edit', run: editWithInstruction },
  { name: 'preview', run: previewBeforeApplying },
  { name: 'missing-server', run: missingServerPath },
];

/** 1. The Python file is open and the status bar item names the model the local server has. */
async function statusBarShowsLocalModel(ui) {
  await ui.openFile(testCase.file);
  await ui.statusItem(testCase.model).waitFor({ timeout: TIMEOUT });
  await ui.shot('model-in-status-bar');
}

/** 2. Select the function, Refactor menu, the action by its title: the edit lands and saves. */
async function refactorWithLocalModel(ui) {
  await ui.selectFunction();
  await ui.shot('function-selected');
  const action = await ui.refactorAction('Refactor with local model');
  await ui.shot('refactor-menu');
  await action.click();
  await ui.waitFor('the editor to show the expected edit', async () => {
    const text = await ui.editorText();
    return text === testCase.expected || `editor text:\n${text}`;
  });
  await ui.shot('edit-in-editor');
  await ui.saveAndCheck(testCase.expected);
  await ui.shot('saved');
}

/**
 * 3. The key goes to secret storage: the server restarts with it, it outlives a reload of the
 * window, and no file or log under the run (settings, logs, server stderr) holds it.
 */
async function claudeKeyInSecretStorage(ui) {
  const { page } = ui;
  await ui.statusTooltip(/Claude: .*no API key/);
  const key = `sk-ant-e2e-${randomBytes(12).toString('hex')}`;
  await ui.runCommand('Ladder: Set Claude API Key');
  const box = page.locator('.quick-input-widget input[type="password"]');
  await box.waitFor({ timeout: TIMEOUT });
  await box.fill(key);
  await ui.shot('key-typed');
  await box.press('Enter');
  await ui.notification('Claude API key saved').waitFor({ timeout: TIMEOUT });
  await ui.statusTooltip(/Claude: .*ready/);
  await ui.shot('claude-ready');
  await page.reload();
  await ui.statusTooltip(/Claude: .*ready/);
  await ui.shot('claude-ready-after-reload');
  if (!filesContaining(env.E2E_TMP, testCase.model).length) {
    throw new Error(`the file search finds nothing under ${env.E2E_TMP}: it cannot see the key`);
  }
  const holders = filesContaining(env.E2E_TMP, key);
  if (holders.length) throw new Error(`the Claude key is in ${holders.join(', ')}`);
}

/**
 * 4a. Edit with an instruction: on the file as it was, select the function, "Edit with local
 * model…" from the Refactor menu, type what to change in the input box and press Enter: the
 * model's edit (the fake's answer to that instruction) lands in the editor and on disk, and a
 * chat request the model got holds the instruction.
 */
async function editWithInstruction(ui) {
  const { page } = ui;
  await ui.restoreFile();
  await ui.selectFunction();
  const action = await ui.refactorAction('Edit with local model…');
  await ui.shot('edit-in-refactor-menu');
  const before = chatRequests().length;
  await action.click(); // a fresh profile has no recent instructions: the input box comes first
  const input = page
    .locator('.quick-input-widget', { hasText: 'what should change?' })
    .locator('.quick-input-box input');
  await input.waitFor({ timeout: TIMEOUT });
  await input.fill(testCase.instruction);
  await ui.shot('instruction-typed');
  await input.press('Enter');
  await ui.waitFor('the editor to show the instructed edit', async () => {
    const text = await ui.editorText();
    return text === testCase.edit_expected || `editor text:\n${text}`;
  });
  await ui.shot('edit-in-editor');
  const asked = chatRequests().slice(before);
  if (!asked.some((body) => messagesText(body).includes(testCase.instruction))) {
    const seen = asked.map(messagesText).join('\n---\n');
    throw new Error(`no chat request holds the instruction; the model was asked:\n${seen}`);
  }
  await ui.saveAndCheck(testCase.edit_expected);
}

/**
 * 4b. Preview before applying: with `ladder.edits.confirm` "always" in the workspace settings,
 * "Refactor with local model" opens VS Code's Refactor Preview (naming the file) and leaves the
 * editor as it was. Discard there: the server says nothing was applied and the text is
 * unchanged. The same again, tick the file's change (VS Code leaves a change that needs
 * confirmation unticked, and Apply applies only ticked ones), Apply: the edit lands.
 */
async function previewBeforeApplying(ui) {
  const { page } = ui;
  // The setting reaches the server as didChangeConfiguration, then its workspace/configuration
  // pull, whose answer its DEBUG log (run.sh) prints: the preview is due only after that.
  const logged = serverStderr().length;
  setWorkspaceSetting('ladder.edits.confirm', 'always');
  await ui.waitFor(
    'the server to read edits.confirm "always"',
    () => /'confirm': 'always'/.test(serverStderr().slice(logged)) || 'not in its log yet',
  );
  await ui.restoreFile();
  const preview = page.locator('.bulk-edit-panel');
  const fileRow = preview.locator('.monaco-list-row', { hasText: testCase.file }).first();
  for (const [button, expected] of [
    ['Discard', testCase.text],
    ['Apply', testCase.expected],
  ]) {
    await ui.runCommand('Notifications: Clear All Notifications');
    await ui.selectFunction();
    const action = await ui.refactorAction('Refactor with local model');
    await action.click();
    await fileRow.waitFor({ timeout: TIMEOUT });
    await ui.shot(`preview-before-${button.toLowerCase()}`);
    if ((await ui.editorText()) !== testCase.text) {
      throw new Error(`the edit landed before ${button} was pressed:\n${await ui.editorText()}`);
    }
    if (button === 'Apply') {
      const tick = fileRow.locator('.edit-checkbox');
      if ((await tick.getAttribute('aria-checked')) !== 'true') await tick.click();
      await ui.waitFor(
        "the file's change to be ticked",
        async () => (await tick.getAttribute('aria-checked')) === 'true' || 'unticked',
      );
      await ui.shot('change-ticked');
    }
    await preview.getByRole('button', { name: button, exact: true }).click();
    await preview.waitFor({ state: 'hidden', timeout: TIMEOUT });
    if (button === 'Discard') {
      await ui.notification('the edit was not applied').waitFor({ timeout: TIMEOUT });
    }
    await ui.waitFor(`the editor text after ${button}`, async () => {
      const text = await ui.editorText();
      return text === expected || `editor text:\n${text}`;
    });
    await ui.shot(`after-${button.toLowerCase()}`);
  }
}

/** 5. A server path that does not exist: a clear error, and a button to the setting. */
async function missingServerPath(ui) {
  const { page } = ui;
  const missing = path.join(env.E2E_TMP, 'no-such-dir', 'ladder-lsp');
  await ui.runCommand('Notifications: Clear All Notifications');
  const settings = JSON.parse(readFileSync(env.E2E_SETTINGS, 'utf8'));
  settings['ladder.server.command'] = [missing];
  writeFileSync(env.E2E_SETTINGS, JSON.stringify(settings, null, 2));
  const error = ui.notification(missing);
  await error.waitFor({ timeout: TIMEOUT });
  const text = await error.locator('.notification-list-item-message').innerText();
  if (!/does not exist/.test(text) || !text.includes('ladder.server.command')) {
    throw new Error(`unclear error notification: ${text}`);
  }
  const openSetting = error.getByRole('button', { name: 'Open Setting' });
  await openSetting.waitFor({ timeout: TIMEOUT });
  await ui.shot('error-notification');
  await openSetting.click();
  await page
    .locator('.settings-editor .setting-item-contents', { hasText: 'ladder.server.command' })
    .or(page.locator('.settings-editor .setting-item-title', { hasText: 'Server: Command' }))
    .first()
    .waitFor({ timeout: TIMEOUT });
  await ui.shot('setting-opened');
}

// -- the workbench as a user sees it ------------------------------------------------------------

class Workbench {
  constructor(page) {
    this.page = page;
    this.step = '';
    this.count = 0;
    this.last = undefined;
  }

  async shot(label) {
    this.count += 1;
    const name = `${String(this.count).padStart(2, '0')}-${this.step}-${label}.png`;
    this.last = path.join(env.E2E_OUT, name);
    await this.page.waitForTimeout(300); // let animations (toasts, hovers) settle for the picture
    await this.page.screenshot({ path: this.last });
    console.log(`  screenshot ${name}`);
  }

  /** Runs a command from the Command Palette by its title. */
  async runCommand(title) {
    await this.quickInput('>' + title);
    await this.pick(title);
  }

  async openFile(name) {
    await this.quickInput(name);
    await this.pick(name);
    await this.page
      .locator('.tabs-container .tab.active', { hasText: name })
      .waitFor({ timeout: TIMEOUT });
    await this.editorLines().first().waitFor({ timeout: TIMEOUT });
  }

  async quickInput(text) {
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ timeout: TIMEOUT });
    await input.fill(text);
  }

  async pick(label) {
    const row = this.page.locator('.quick-input-list .monaco-list-row', { hasText: label });
    await row.first().waitFor({ timeout: TIMEOUT });
    await this.page.keyboard.press('Enter');
  }

  /** Selects the function's lines (testCase.select) in the active editor. */
  async selectFunction() {
    const { page } = this;
    const { first_line: first, last_line: last } = testCase.select;
    await this.editorLines().first().click();
    await page.keyboard.press('Control+Home');
    for (let line = 0; line < first; line++) await page.keyboard.press('ArrowDown');
    for (let line = first; line < last; line++) await page.keyboard.press('Shift+ArrowDown');
    await page.keyboard.press('Shift+End');
  }

  /** Opens the Refactor menu; the row of the action with this title, once shown. */
  async refactorAction(title) {
    await this.runCommand('Refactor...');
    const action = this.page.locator('.action-widget .monaco-list-row', { hasText: title });
    await action.waitFor({ timeout: TIMEOUT });
    return action;
  }

  /** The file as the run started, written on disk; the (saved) editor shows it again. */
  async restoreFile() {
    writeFileSync(path.join(env.E2E_WORKSPACE, testCase.file), testCase.text);
    await this.waitFor('the editor to show the restored file', async () => {
      const text = await this.editorText();
      return text === testCase.text || `editor text:\n${text}`;
    });
  }

  /** Saves the active editor; the file on disk must then hold `expected`. (VS Code has often
   * saved it already: files.refactoring.autoSave, on by default, saves what an edit from a
   * code action changed. So this checks the edit is on disk, not that Ctrl+S wrote it.) */
  async saveAndCheck(expected) {
    await this.page.keyboard.press('Control+S');
    const file = path.join(env.E2E_WORKSPACE, testCase.file);
    await this.waitFor('the saved file to hold the expected edit', () => {
      const text = readFileSync(file, 'utf8');
      return text === expected || `file on disk:\n${text}`;
    });
  }

  statusItem(text) {
    return this.page.locator('.statusbar-item', { hasText: text });
  }

  /** Moves the pointer off whatever it showed a hover for, so the hover covers nothing. */
  async dismissHovers() {
    await this.page.mouse.move(0, 0);
    await this.page.keyboard.press('Escape');
    await this.page.locator('.monaco-hover').first().waitFor({ state: 'hidden', timeout: TIMEOUT });
  }

  /** Hovers the Ladder status bar item until its tooltip matches. */
  async statusTooltip(pattern) {
    const item = this.statusItem(testCase.model);
    await item.waitFor({ timeout: TIMEOUT });
    const hover = this.page.locator('.monaco-hover', { hasText: pattern });
    await this.waitFor(`a status tooltip matching ${pattern}`, async () => {
      await this.page.mouse.move(0, 0);
      await item.hover();
      return hover.waitFor({ timeout: 3000 }).then(
        () => true,
        () => 'no such tooltip',
      );
    });
  }

  notification(text) {
    return this.page.locator('.notification-toast', { hasText: text });
  }

  editorLines() {
    return this.page.locator('.part.editor .monaco-editor .view-lines .view-line');
  }

  /** The active editor's text as rendered (the whole file: the document is short). */
  async editorText() {
    const lines = await this.editorLines().evaluateAll((elements) =>
      elements.map((element) => ({ top: parseFloat(element.style.top), text: element.innerText })),
    );
    return lines
      .sort((a, b) => a.top - b.top)
      .map(({ text }) => text.replace(/\u00a0/g, ' ').replace(/\n$/, ''))
      .join('\n');
  }

  /** Polls `check` (true, or a description of what it saw) until true or TIMEOUT. */
  async waitFor(what, check) {
    const deadline = Date.now() + TIMEOUT;
    let seen;
    while (Date.now() < deadline) {
      seen = await check();
      if (seen === true) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`timed out waiting for ${what}; ${seen}`);
  }
}

/** The chat request bodies the fake LM Studio got so far (run.sh: --requests-file). */
function chatRequests() {
  if (!existsSync(env.E2E_REQUESTS)) return [];
  return readFileSync(env.E2E_REQUESTS, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

function messagesText(body) {
  return (body.messages ?? []).map((message) => String(message.content)).join('\n');
}

function serverStderr() {
  return readFileSync(env.E2E_SERVER_STDERR, 'utf8');
}

/** Sets `key` in the workspace's .vscode/settings.json (created when missing). The User
 * settings file, written the same way while the window is open, is not picked up by
 * code-server 4.139.1 (no didChangeConfiguration within a minute); the workspace's file is. */
function setWorkspaceSetting(key, value) {
  const file = path.join(env.E2E_WORKSPACE, '.vscode', 'settings.json');
  mkdirSync(path.dirname(file), { recursive: true });
  const settings = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  settings[key] = value;
  writeFileSync(file, JSON.stringify(settings, null, 2));
}

function filesContaining(dir, needle) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesContaining(file, needle));
    else if (entry.isFile() && statSync(file).size < 64 << 20) {
      if (readFileSync(file).includes(needle)) found.push(file);
    }
  }
  return found;
}

async function main() {
  const browser = await chromium.launch({
    executablePath: env.E2E_CHROMIUM,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const ui = new Workbench(page);
  let failed = false;
  try {
    await page.goto(env.E2E_URL);
    await page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout: TIMEOUT });
    for (const step of STEPS) {
      ui.step = step.name;
      console.log(`step ${step.name}`);
      await ui.dismissHovers();
      await step.run(ui);
      console.log(`  ok`);
    }
  } catch (error) {
    failed = true;
    console.error(`  FAILED: ${error instanceof Error ? error.message : String(error)}`);
    await ui.shot('FAILED').catch(() => undefined);
  } finally {
    await browser.close();
  }
  process.exitCode = failed ? 1 : 0;
}

await main();
