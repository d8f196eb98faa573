import { spawn } from 'node:child_process';

/**
 * `data` through a filter tool's stdin, its whole stdout back. Rejects with the spawn error
 * itself (its `code` is ENOENT when the tool is not installed), or with the tool's exit status or
 * signal and what it wrote to stderr.
 */
export function pipeThrough(command: string, args: string[], data: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    // EPIPE on stdin comes with an exit status or a spawn error, which report it.
    child.stdin.on('error', () => {});
    child.on('error', reject);
    // After 'error' when the tool cannot be started: the promise is settled by then.
    child.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out));
      else
        reject(
          new Error(
            `${command} ${code === null ? `was killed by ${signal}` : `exited with ${code}`}: ${Buffer.concat(err).toString().trim()}`,
          ),
        );
    });
    child.stdin.end(data);
  });
}
