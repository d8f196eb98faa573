import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ejs from 'ejs';
import type { ResolvedConfig } from '../../config/resolve.js';
import { bytesFile } from '../../model/output-file.js';
import type { OutputFile } from '../../model/tiers.js';
import { packageRoot } from '../templates.js';
import { driverSitePrefix } from './build-drivers.js';

const ASSETS = ['drivers.js', 'drivers.css'];

/**
 * The driver browser: `driver/site/index.html` plus its script and stylesheet, tier listing.
 * The page itself is rendered with the version list so its no-JavaScript fallback can link to
 * every version's index and folder; regenerate it whenever the version list changes.
 */
export async function driverSiteFiles(cfg: ResolvedConfig, versions: string[]): Promise<OutputFile[]> {
  const dir = join(packageRoot(), 'site', 'drivers');
  const template = await readFile(join(dir, 'index.html.ejs'), 'utf8');
  const html = ejs.render(template, {
    project: cfg.project,
    versions: versions.map((v) => ({
      name: v,
      json: `${encodeURIComponent(v)}.json`,
      folder: `../${encodeURIComponent(v)}/`,
    })),
  });
  const prefix = driverSitePrefix(cfg);
  const out = [bytesFile(`${prefix}/index.html`, 'listing', html)];
  for (const a of ASSETS) out.push(bytesFile(`${prefix}/${a}`, 'listing', await readFile(join(dir, a))));
  return out;
}
