import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import type { ConfigFile } from './schema.js';

/**
 * Reads pkgpub.yaml. Returns {} when the file is absent (every field has a default). All
 * problems (syntax, unknown keys, wrong types) are collected and thrown together, each
 * with its line number. The YAML parser is loaded only when there is a file to parse: most
 * CI runs have none, and it is a sixth of pkgpub's start-up.
 */
export async function loadConfigFile(path: string, required = false): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !required) return {};
    throw new ConfigError([`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  const { parseConfig } = await import('./parse-config.js');
  return parseConfig(text, path);
}
