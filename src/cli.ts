#!/usr/bin/env node
import type { Reporter } from './commands/reporter.js';
import { main } from './main.js';
import { releaseAllLeases } from './transaction/lease.js';

// The only place that writes to the process streams.
const tty = Boolean(process.stderr.isTTY);
let statusShown = false;
const clearStatus = () => {
  if (statusShown) process.stderr.write('\r\x1b[K');
  statusShown = false;
};
const reporter: Reporter = {
  out: (l) => {
    clearStatus();
    process.stdout.write(`${l}\n`);
  },
  info: (l) => {
    clearStatus();
    process.stderr.write(`${l}\n`);
  },
  warn: (l) => {
    clearStatus();
    process.stderr.write(`warning: ${l}\n`);
  },
  status: (l) => {
    if (!tty) return;
    process.stderr.write(`\r\x1b[K${l.slice(0, (process.stderr.columns ?? 80) - 1)}`);
    statusShown = true;
  },
  interactive: tty,
};

// A cancelled CI job gets SIGTERM (or SIGINT) first: give up the lease so the next run need not wait.
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)
  process.once(signal, () => {
    const bounded = new Promise((r) => setTimeout(r, 5000).unref());
    void Promise.race([releaseAllLeases(), bounded]).finally(() => process.exit(code));
  });

main(process.argv.slice(2), reporter).then((code) => {
  process.exitCode = code;
});
