// Ladder: Run Doctor — `<server command> doctor`, its report streamed into the Ladder output.
import { spawn } from 'node:child_process';
import type { OutputChannel } from 'vscode';
import { commandLine, type ServerCommand } from './launch';

/** Resolves true when the doctor exits 0 (at least one tier can serve). */
export function runDoctor(
  server: ServerCommand,
  env: NodeJS.ProcessEnv,
  output: OutputChannel,
): Promise<boolean> {
  const line = `${commandLine(server)} doctor`;
  output.show(true);
  output.appendLine(`$ ${line}`);
  return new Promise((resolve) => {
    const child = spawn(server.command, [...server.args, 'doctor'], { env });
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      output.append(text);
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      output.append(text);
    });
    child.on('error', (error) => {
      output.appendLine(`Could not run ${line}: ${error.message}`);
      resolve(false);
    });
    child.on('close', (code, signal) => {
      if (child.pid === undefined) return; // never started: reported by 'error'
      output.appendLine(
        `[doctor exited with ${code === null ? `signal ${String(signal)}` : `code ${code}`}]`,
      );
      resolve(code === 0);
    });
  });
}
