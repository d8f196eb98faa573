import { CONFIG_SHAPE } from '../../src/config/schema.js';
import { configJsonSchema } from './json-schema.js';
import { configReference } from './reference.js';

/** What `npm run docs:config` writes, by path from the package root; the tests compare the committed files. */
export function configDocs(): Record<string, string> {
  return {
    'schema/pkgpub.schema.json': `${JSON.stringify(configJsonSchema(CONFIG_SHAPE), null, 2)}\n`,
    'docs/config.md': configReference(CONFIG_SHAPE),
  };
}
