import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { ConfigError } from '../errors.js';
import { CONFIG_SHAPE, type ConfigFile, type Shape } from './schema.js';

export function parseConfig(text: string, path = 'pkgpub.yaml'): ConfigFile {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const problems: string[] = [];
  for (const e of doc.errors) {
    const line = e.linePos?.[0]?.line ?? lc.linePos(e.pos[0]).line;
    problems.push(`${path}:${line}: ${e.message.split('\n')[0]}`);
  }
  if (problems.length) throw new ConfigError(problems);
  const root = doc.contents;
  if (root == null) return {};
  const lineOf = (n: YamlNode | null | undefined) => (n?.range ? lc.linePos(n.range[0]).line : 0);
  if (!isMap(root))
    throw new ConfigError([`${path}:${lineOf(root)}: expected a mapping of settings at the top level`]);
  checkMap(root, CONFIG_SHAPE, '', path, lineOf, problems);
  if (problems.length) throw new ConfigError(problems);
  return doc.toJS() as ConfigFile;
}

function checkMap(
  map: import('yaml').YAMLMap,
  shape: Shape,
  where: string,
  path: string,
  lineOf: (n: YamlNode | null | undefined) => number,
  problems: string[],
): void {
  for (const pair of map.items) {
    const keyNode = pair.key as YamlNode;
    const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
    const name = where + key;
    const at = `${path}:${lineOf(keyNode)}`;
    const field = shape[key];
    if (!field) {
      problems.push(`${at}: unknown setting "${name}" (known: ${Object.keys(shape).join(', ')})`);
      continue;
    }
    const type = field.type;
    const value = pair.value as YamlNode | null;
    const vAt = `${path}:${lineOf(value) || lineOf(keyNode)}`;
    if (typeof type === 'object' && 'section' in type) {
      if (!isMap(value)) problems.push(`${vAt}: "${name}" must be a mapping`);
      else checkMap(value, type.section, `${name}.`, path, lineOf, problems);
    } else if (type === 'string[]') {
      if (!isSeq(value) || value.items.some((i) => !isScalar(i) || typeof i.value !== 'string'))
        problems.push(`${vAt}: "${name}" must be a list of strings`);
    } else if (type === 'string-or-number') {
      if (!isScalar(value) || (typeof value.value !== 'string' && typeof value.value !== 'number'))
        problems.push(`${vAt}: "${name}" must be a string or a number`);
    } else if (typeof type === 'object' && 'pattern' in type) {
      if (!isScalar(value) || typeof value.value !== 'string' || !new RegExp(type.pattern).test(value.value))
        problems.push(`${vAt}: "${name}" must be ${type.expected}`);
    } else if (typeof type === 'object' && 'oneOf' in type) {
      if (!isScalar(value) || !type.oneOf.includes(String(value.value)))
        problems.push(`${vAt}: "${name}" must be one of ${type.oneOf.join(', ')}`);
    } else if (!isScalar(value) || typeof value.value !== type) {
      problems.push(`${vAt}: "${name}" must be a ${type}`);
    }
  }
}
