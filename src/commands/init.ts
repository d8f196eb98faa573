import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../config/parse-config.js';
import { resolveConfig } from '../config/resolve.js';
import { UsageError } from '../errors.js';
import { configText } from '../init/config-text.js';
import { workflowText } from '../init/workflow-text.js';
import { checkTargets, type NewFile, writeNewFiles } from '../init/write-new-files.js';
import { generateKeyPair } from '../signing/generate-key.js';
import type { Reporter } from './reporter.js';
import { parseOptions } from './table/commands.js';

const SECRET_DIR = '.pkgpub';
const SECRET_KEY = `${SECRET_DIR}/signing-key.asc`;
/** Days the new key is valid, as `pkgpub keys generate` makes it; `pkgpub keys extend` adds more. */
const KEY_DAYS = 1095;

/**
 * `pkgpub init`: a commented pkgpub.yaml, a signing key pair and an example GitHub workflow in
 * DIR. The secret key goes to a 0600 file in a folder git ignores, never to the output; nothing
 * existing is replaced without --force, and with it nothing is written until every target is known.
 */
export async function runInit(args: string[], r: Reporter): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: parseOptions('init') });
  if (positionals.length > 0)
    throw new UsageError(
      `init takes no arguments, only flags (see pkgpub init --help): ${positionals.join(' ')}`,
    );
  const dir = values.dir;
  const project = values.project ?? projectFromFolder(dir);
  const baseUrl = values['base-url']?.replace(/\/+$/, '');
  const config = configText({ project, keyFile: SECRET_KEY, ...(baseUrl ? { baseUrl } : {}) });
  // What init writes must be what publish accepts: a bad --project or --base-url fails here.
  resolveConfig(parseConfig(config, 'pkgpub.yaml'));
  const publicKey = `${project}-public-key.asc`;
  const planned = (secret: string, pub: string): NewFile[] => [
    { path: 'pkgpub.yaml', text: config, mode: 0o644 },
    {
      path: '.github/workflows/publish.yml',
      text: workflowText({ project, keyFile: SECRET_KEY }),
      mode: 0o644,
    },
    { path: publicKey, text: pub, mode: 0o644 },
    // A .gitignore of its own keeps the folder out of git whatever the project's .gitignore says.
    { path: `${SECRET_DIR}/.gitignore`, text: '*\n', mode: 0o644, dirMode: 0o700 },
    { path: SECRET_KEY, text: secret, mode: 0o600, dirMode: 0o700 },
  ];
  // Refuse before generating a key for a folder that will not be written.
  const existing = await checkTargets(dir, planned('', ''), values.force);
  const passphrase = process.env.PKGPUB_SIGNING_PASSPHRASE;
  const pair = await generateKeyPair({
    name: `${project} packages`,
    email: values.email ?? '',
    type: 'ed25519',
    expiresInDays: KEY_DAYS,
    ...(passphrase ? { passphrase } : {}),
  });
  await writeNewFiles(dir, planned(pair.privateArmored, pair.publicArmored), values.force);
  for (const f of ['pkgpub.yaml', '.github/workflows/publish.yml', publicKey])
    r.out(`${existing.includes(f) ? 'replaced' : 'wrote'}  ${f}`);
  r.out(
    `${existing.includes(SECRET_KEY) ? 'replaced' : 'wrote'}  ${SECRET_KEY} (secret key, mode 600${passphrase ? ', passphrase from PKGPUB_SIGNING_PASSPHRASE' : ', no passphrase'})`,
  );
  r.out(`fingerprint ${pair.fingerprint}`);
  r.info(
    `keep ${SECRET_DIR}/ out of git: its own .gitignore ignores it; add "${SECRET_DIR}/" to .gitignore as well`,
  );
  r.info(`for the workflow: gh secret set PKGPUB_SIGNING_KEY < ${SECRET_KEY}`);
  if (!baseUrl)
    r.info('set base_url in pkgpub.yaml (or pass --base-url) to the URL the tree will be served from');
  return 0;
}

/** A project name from the folder's name, in the characters pkgpub.yaml's `project` allows. */
function projectFromFolder(dir: string): string {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9._+-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '');
  return name || 'packages';
}
