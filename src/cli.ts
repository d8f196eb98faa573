#!/usr/bin/env node
import type { Reporter } from './commands/reporter.js';
import { main } from './main.js';

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

main(process.argv.slice(2), reporter).then((code) => {
  process.exitCode = code;
});
