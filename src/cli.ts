#!/usr/bin/env node
import type { Reporter } from './commands/reporter.js';
import { main } from './main.js';

// The only place that writes to the process streams.
const reporter: Reporter = {
  out: (l) => process.stdout.write(`${l}\n`),
  info: (l) => process.stderr.write(`${l}\n`),
  warn: (l) => process.stderr.write(`warning: ${l}\n`),
  interactive: Boolean(process.stderr.isTTY),
};

main(process.argv.slice(2), reporter).then((code) => {
  process.exitCode = code;
});
