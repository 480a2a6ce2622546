// "Edit with local model…": the server's `edit` action needs the user's instruction. The
// language client's command middleware asks for it (an input box, with the last 20
// instructions offered first) and adds it to `ladder.run`'s arguments; cancelling sends nothing.
import type { Memento } from 'vscode';
import * as vscode from './vscodeApi';

export const HISTORY_KEY = 'ladder.instructions';
export const HISTORY_SIZE = 20;
const ACTIONS_NEEDING_INSTRUCTION = new Set(['edit']);

/** The most recent instructions first, at most HISTORY_SIZE, kept in the extension's state. */
export class InstructionHistory {
  constructor(private readonly memento: Memento) {}

  recent(): string[] {
    const stored: unknown = this.memento.get(HISTORY_KEY);
    return Array.isArray(stored)
      ? stored.filter((item): item is string => typeof item === 'string')
      : [];
  }

  async remember(instruction: string): Promise<void> {
    const others = this.recent().filter((item) => item !== instruction);
    await this.memento.update(HISTORY_KEY, [instruction, ...others].slice(0, HISTORY_SIZE));
  }
}

interface Choice {
  label: string;
  instruction: string;
}

const NEW_INSTRUCTION: Choice = { label: '$(edit) New instruction…', instruction: '' };

/** What the user wants done, or undefined when they cancel (or leave it blank). */
export async function askInstruction(history: InstructionHistory): Promise<string | undefined> {
  const recent = history.recent();
  let typed: string | undefined;
  if (recent.length > 0) {
    const choices = [
      NEW_INSTRUCTION,
      ...recent.map((text) => ({ label: text, instruction: text })),
    ];
    const picked = await vscode.showQuickPick(choices, {
      placeHolder: 'Ladder: what should change? (a recent instruction, or a new one)',
    });
    if (picked === undefined) return undefined;
    if (picked.instruction) typed = picked.instruction;
  }
  typed ??= await vscode.showInputBox({
    prompt: 'Ladder: what should change?',
    placeHolder: 'e.g. use pathlib, make it async, handle None',
    ignoreFocusOut: true,
  });
  const instruction = typed?.trim();
  if (!instruction) return undefined;
  await history.remember(instruction);
  return instruction;
}

type Next = (command: string, args: unknown[]) => unknown;

/** `executeCommand` middleware: `ladder.run` of an action that needs an instruction, and has
 * none yet, asks for one first; every other command passes through untouched. */
export function instructionMiddleware(history: InstructionHistory) {
  return async (command: string, args: unknown[], next: Next): Promise<unknown> => {
    const [first, ...rest] = args;
    if (command !== 'ladder.run' || typeof first !== 'object' || first === null) {
      return next(command, args);
    }
    const run = first as { action?: unknown; instruction?: unknown };
    if (!ACTIONS_NEEDING_INSTRUCTION.has(String(run.action)) || run.instruction) {
      return next(command, args);
    }
    const instruction = await askInstruction(history);
    if (instruction === undefined) return { applied: false, reason: 'cancelled' };
    return next(command, [{ ...run, instruction }, ...rest]);
  };
}
