/**
 * A new password for `edgefc users add`: typed at the terminal with echo off (asked twice), or
 * the first line of stdin when stdin is not a terminal (scripts, provisioning). Never from argv:
 * a command line is visible to every local user (ps, /proc/PID/cmdline).
 */
import { UsageError } from './usage-error.js';

/**
 * 8 characters at least: NIST SP 800-63B's floor for a secret a person chooses. Devices should
 * get long random ones (`openssl rand -base64 24`).
 */
export const MIN_PASSWORD_LENGTH = 8;

export interface PasswordInput {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  /** Where prompts go: stderr, so stdout stays for results. */
  prompt: (text: string) => void;
}

export const processPasswordInput: PasswordInput = {
  stdin: process.stdin,
  prompt: (text) => process.stderr.write(text),
};

export async function readNewPassword(name: string, input: PasswordInput = processPasswordInput): Promise<string> {
  let password: string;
  if (input.stdin.isTTY === true && input.stdin.setRawMode !== undefined) {
    password = await readHidden(`Password for ${name}: `, input);
    const again = await readHidden(`Password for ${name} (again): `, input);
    if (again !== password) throw new UsageError('the two passwords differ; nothing was changed');
  } else {
    password = await readFirstLine(input.stdin);
  }
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new UsageError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters; nothing was changed`);
  }
  return password;
}

/** One line typed with the terminal's echo off (raw mode); Ctrl-C or Ctrl-D on an empty line cancel. */
function readHidden(text: string, input: PasswordInput): Promise<string> {
  const { stdin } = input;
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (error: Error | undefined): void => {
      stdin.removeListener('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      input.prompt('\n');
      if (error === undefined) resolve(typed);
      else reject(error);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const char of chunk.toString()) {
        if (char === '\r' || char === '\n') return done(undefined);
        if (char === '\u0003' || (char === '\u0004' && typed === '')) return done(new UsageError('cancelled; nothing was changed'));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else if (char >= ' ') typed += char;
      }
    };
    // Echo off before the prompt shows: a person (or a script) typing right after it must
    // never see the password echoed by the terminal.
    stdin.setRawMode?.(true);
    stdin.on('data', onData);
    stdin.resume();
    input.prompt(text);
  });
}

/** Up to the first line break (or the end of input), without it: `echo secret | …` works. */
async function readFirstLine(stdin: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += chunk.toString();
    if (/[\r\n]/.test(text)) break;
  }
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  if (line === '') throw new UsageError('no password on stdin (its first line); nothing was changed');
  return line;
}
