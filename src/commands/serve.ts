import { parseArgs } from 'node:util';
import { statSync } from 'node:fs';
import { PkgpubError, UsageError } from '../errors.js';
import { createStaticServer } from '../serve/static-server.js';
import type { Reporter } from './reporter.js';
import { parseOptions } from './table/commands.js';

/** `pkgpub serve [DIR]`: serves a published folder until interrupted. */
export async function runServe(args: string[], r: Reporter): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: parseOptions('serve'),
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be 0-65535');
  const root = positionals[0] ?? './public';
  // Serving a folder that is not there answers 404 to everything: a wrong path, said at once.
  const st = statSync(root, { throwIfNoEntry: false });
  if (!st?.isDirectory())
    throw new PkgpubError(
      'storage',
      st
        ? `serve: ${root} is not a folder (name the folder a publish wrote into)`
        : `serve: ${root} does not exist (publish into it first: pkgpub publish ARTIFACTS --to ${root})`,
    );
  const server = createStaticServer(root, values.quiet ? undefined : (l) => r.info(l));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new UsageError(`cannot listen on ${values.host}:${port}: ${err.code ?? err.message}`)),
    );
    server.listen(port, values.host, () => resolve());
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  r.out(`serving ${root} at http://${values.host}:${actual}/ (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
