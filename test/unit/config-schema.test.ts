import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDocument, stringify } from 'yaml';
import { parseConfig } from '../../src/config/parse-config.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { CONFIG_SHAPE, type Field, type Shape } from '../../src/config/schema.js';
import { ConfigError } from '../../src/errors.js';
import { configJsonSchema } from '../../scripts/config-docs/json-schema.js';
import { configKeys } from '../../scripts/config-docs/keys.js';
import { configDocs } from '../../scripts/config-docs/outputs.js';
import { exampleConfig } from '../../scripts/config-docs/reference.js';
import { repoRoot } from '../support/paths.js';

const isSection = (f: Field): f is Field & { type: { section: Shape } } =>
  typeof f.type === 'object' && 'section' in f.type;
const leaves = configKeys(CONFIG_SHAPE).filter((k) => !isSection(k.field));
const sections = configKeys(CONFIG_SHAPE).filter((k) => isSection(k.field));

/** The YAML text that sets `path` (dotted) to the YAML fragment `value`. */
function yamlAt(path: string, value: string): string {
  const parts = path.split('.');
  return parts.map((p, i) => `${'  '.repeat(i)}${p}:${i === parts.length - 1 ? ` ${value}` : ''}`).join('\n');
}

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, 'p.yaml');
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
}

describe('generated pkgpub.yaml reference and schema', () => {
  it.each(Object.entries(configDocs()))('%s is what the generator writes now', (path, text) => {
    const committed = readFileSync(join(repoRoot, path), 'utf8');
    expect(committed, `${path} is out of date: run npm run docs:config`).toBe(text);
  });

  it('documents every key, with the dotted name errors use, in the reference and the schema', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'config.md'), 'utf8');
    const schema = configJsonSchema(CONFIG_SHAPE);
    for (const { path, field } of configKeys(CONFIG_SHAPE)) {
      expect(doc).toContain(`### \`${path}\``);
      let node = schema;
      for (const part of path.split('.')) node = (node.properties as Record<string, typeof schema>)[part]!;
      expect(node, path).toBeDefined();
      expect(node.description, path).toContain(field.description);
      if (!isSection(field)) expect(field.example, `${path} has no example`).toBeDefined();
    }
  });

  it('shows the defaults resolve.ts applies', () => {
    const cfg = resolveConfig({});
    const applied: Record<string, unknown> = {
      project: cfg.project,
      base_url: cfg.baseUrl,
      'apt.suite': cfg.apt.suite,
      'apt.components': cfg.apt.components,
      'apt.architectures': cfg.apt.architectures,
      'apt.by_hash_generations': cfg.apt.byHashGenerations,
      'yum.compression': cfg.yum.compression,
      'rollback.generations': cfg.rollback.generations,
    };
    const fixed = configKeys(CONFIG_SHAPE).filter((k) => k.field.default !== undefined);
    expect(fixed.map((k) => k.path).sort()).toEqual(Object.keys(applied).sort());
    for (const { path, field } of fixed) expect(applied[path], path).toEqual(field.default);
    // The computed defaults the reference describes in words.
    expect(cfg.apt.codename).toBe(cfg.apt.suite);
    expect(cfg.origin).toBe(cfg.project);
    expect(cfg.label).toBe(cfg.origin);
    expect(cfg.description).toBe(`${cfg.origin} packages`);
    expect(cfg.yum.name).toBe(cfg.project);
    expect(cfg.apt.validUntilDays).toBeUndefined();
    expect(cfg.retention).toEqual({});
  });
});

describe('the full example in docs/config.md', () => {
  const doc = readFileSync(join(repoRoot, 'docs', 'config.md'), 'utf8');
  const example = /## Full example\n\n```yaml\n([\s\S]*?)```/.exec(doc)?.[1];

  it('parses and resolves clean, on both channels', () => {
    expect(example).toBeDefined();
    const file = parseConfig(example!, 'docs/config.md');
    expect(() => resolveConfig(file)).not.toThrow();
    expect(() => resolveConfig(file, { channel: 'dev' })).not.toThrow();
  });

  it('sets every key and names the schema for editors first', () => {
    expect(example).toBe(exampleConfig(CONFIG_SHAPE));
    expect(example!.split('\n')[0]).toBe(
      '# yaml-language-server: $schema=./node_modules/pkgpub/schema/pkgpub.schema.json',
    );
    const js = parseDocument(example!).toJS() as Record<string, unknown>;
    for (const { path } of leaves) {
      const value = path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], js);
      expect(value, path).toBeDefined();
    }
  });
});

describe('config errors name the key as the reference does', () => {
  it.each(leaves.map((k) => k.path))('%s: a value of the wrong type', (path) => {
    const text = yamlAt(path, '{ wrong: 1 }');
    const line = path.split('.').length;
    expect(problemsOf(text)).toEqual([
      expect.stringMatching(new RegExp(`^p\\.yaml:${line}: "${path}" must be `)),
    ]);
  });

  it.each(sections.map((k) => k.path))('%s: not a mapping, or with an unknown key', (path) => {
    expect(problemsOf(yamlAt(path, '7'))).toEqual([expect.stringContaining(`"${path}" must be a mapping`)]);
    expect(problemsOf(yamlAt(`${path}.nope`, '1'))).toEqual([
      expect.stringContaining(`unknown setting "${path}.nope"`),
    ]);
  });

  it('names the key in the checks resolve.ts makes too', () => {
    const problems = (text: string) => {
      try {
        resolveConfig(parseConfig(text));
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems('apt:\n  by_hash_generations: 0\n')).toEqual([
      expect.stringMatching(/^apt\.by_hash_generations /),
    ]);
    expect(problems('apt:\n  valid_until_days: -1\n')).toEqual([
      expect.stringMatching(/^apt\.valid_until_days /),
    ]);
    expect(problems('apt:\n  architectures: [all]\n')).toEqual([
      expect.stringMatching(/^apt\.architectures: /),
    ]);
    expect(problems('rollback:\n  generations: -1\n')).toEqual([
      expect.stringMatching(/^rollback\.generations /),
    ]);
    expect(problems('project: Falco\n')).toEqual([expect.stringMatching(/^project /)]);
    expect(problems('base_url: ftp://x\n')).toEqual([expect.stringMatching(/^base_url /)]);
  });
});

// ---------------------------------------------------------------------------------------------
// parseConfig and a JSON Schema validator must accept and reject the same files. The validator
// is ajv; while it is not installed these tests are skipped rather than failing the suite.

interface Validate {
  (data: unknown): boolean;
  errors?: { instancePath: string; message?: string }[] | null;
}
interface AjvInstance {
  addKeyword(keyword: string): unknown;
  compile(schema: object): Validate;
}
type AjvClass = new (opts: object) => AjvInstance;

async function loadAjv(): Promise<AjvClass | undefined> {
  // A variable specifier: typecheck must pass without ajv installed.
  const name = 'ajv';
  try {
    const mod = (await import(name)) as { default: AjvClass & { default?: AjvClass } };
    return mod.default.default ?? mod.default;
  } catch {
    return undefined;
  }
}

const Ajv = await loadAjv();

function schemaValidator(): (text: string) => boolean {
  const ajv = new Ajv!({ allErrors: true, strict: true, allowUnionTypes: true });
  // yaml-language-server's keyword for a readable pattern message; ajv's strict mode wants it declared.
  ajv.addKeyword('patternErrorMessage');
  const validate = ajv.compile(
    JSON.parse(readFileSync(join(repoRoot, 'schema', 'pkgpub.schema.json'), 'utf8')),
  );
  // What an editor validates: the document as data (an empty file is no settings to either).
  return (text) => validate(parseDocument(text).toJS() ?? {});
}

const accepts = (text: string) => problemsOf(text).length === 0;

const GOOD = [
  '',
  '# only a comment\n',
  'project: falco\n',
  'project: "123"\n',
  'apt:\n  components: []\n  valid_until_days: 7.5\n',
  'apt: {}\n',
  'retention:\n  dev:\n    max_size: 1000000\n  stable: {}\n',
  'yum:\n  compression: zstd\n',
  'cdn:\n  cloudfront:\n    distribution_id: E2QWRUHAPOMQZL\n    paths_prefix: /downloads/falco/\n',
  `cdn:\n  cloudfront:\n    distribution_id: ${'A'.repeat(64)}\n`,
];
const BAD = [
  'projekt: falco\n',
  '- a\n- b\n',
  'project:\n',
  'project: 12\n',
  'apt: stable\n',
  'apt:\n',
  'apt:\n  suites: stable\n',
  'apt:\n  suite: 3\n',
  'apt:\n  components: main\n',
  'apt:\n  architectures: [amd64, 3]\n',
  'apt:\n  by_hash_generations: "3"\n',
  'yum:\n  compression: xz\n',
  'yum:\n  compression: [gz]\n',
  'signing:\n  key_file: 42\n',
  'retention:\n  nightly:\n    keep: 1\n',
  'retention:\n  dev:\n    max_size: [1]\n',
  'retention:\n  dev:\n    keep: ten\n',
  'retention:\n  dev:\n    protect: falco=1\n',
  'rollback:\n  generations: five\n',
  'cdn:\n  cloudfront:\n    distribution_id: e123\n',
  'cdn:\n  cloudfront:\n    distribution_id: E123-ABC\n',
  'cdn:\n  cloudfront:\n    distribution_id: 12345\n',
  `cdn:\n  cloudfront:\n    distribution_id: ${'A'.repeat(65)}\n`,
  'cdn:\n  cloudfront:\n    paths_prefix: downloads\n',
  'cdn:\n  cloudfront:\n    paths_prefix: /a?b\n',
  'cdn:\n  fastly: {}\n',
];

describe.skipIf(!Ajv)('parseConfig and the JSON Schema agree', () => {
  it('on hand-picked good and bad files', () => {
    const schemaAccepts = schemaValidator();
    for (const text of GOOD) {
      expect(accepts(text), `parseConfig rejects ${JSON.stringify(text)}`).toBe(true);
      expect(schemaAccepts(text), `the schema rejects ${JSON.stringify(text)}`).toBe(true);
    }
    for (const text of BAD) {
      expect(accepts(text), `parseConfig accepts ${JSON.stringify(text)}`).toBe(false);
      expect(schemaAccepts(text), `the schema accepts ${JSON.stringify(text)}`).toBe(false);
    }
  });

  it('on the full example', () => {
    expect(schemaValidator()(exampleConfig(CONFIG_SHAPE))).toBe(true);
  });

  it('on every key set to values at the edge of its rule', () => {
    const schemaAccepts = schemaValidator();
    let rejected = 0;
    for (const { path, field } of configKeys(CONFIG_SHAPE))
      for (const value of edgeValues(field.type)) {
        const text = stringify(setAt({}, path, value));
        const ok = accepts(text);
        if (!ok) rejected++;
        expect(schemaAccepts(text), text).toBe(ok);
      }
    expect(rejected).toBeGreaterThan(100);
  });

  it('on generated files: right values everywhere, then at most one mistake', () => {
    const schemaAccepts = schemaValidator();
    const scalar = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
    );
    const wrong = fc.oneof(
      { weight: 4, arbitrary: scalar },
      { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
      { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('x', 'keep'), scalar, { maxKeys: 2 }) },
    );
    const right = (type: Field['type']): fc.Arbitrary<unknown> => {
      if (type === 'string') return fc.string();
      if (type === 'number')
        return fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
      if (type === 'string-or-number') return fc.oneof(fc.string(), fc.integer());
      if (type === 'string[]') return fc.array(fc.string(), { maxLength: 3 });
      if ('oneOf' in type) return fc.constantFrom(...type.oneOf);
      if ('pattern' in type) return fc.stringMatching(new RegExp(type.pattern));
      return section(type.section);
    };
    const section = (shape: Shape): fc.Arbitrary<Record<string, unknown>> =>
      fc.record(Object.fromEntries(Object.entries(shape).map(([k, f]) => [k, right(f.type)])), {
        requiredKeys: [],
      });
    const paths = configKeys(CONFIG_SHAPE);
    const mistake = fc.oneof(
      fc.constant(undefined),
      fc.record({ path: fc.constantFrom(...paths.map((k) => k.path)), value: wrong }),
      fc
        .constantFrom(...paths)
        .chain(({ path, field }) =>
          fc.record({ path: fc.constant(path), value: fc.constantFrom(...edgeValues(field.type)) }),
        ),
      fc
        .constantFrom('', ...sections.map((k) => `${k.path}.`))
        .map((at) => ({ path: `${at}${at ? 'keep_' : 'Project'}`, value: 1 })),
    );
    let valid = 0;
    fc.assert(
      fc.property(section(CONFIG_SHAPE), mistake, (config, m) => {
        const text = stringify(m ? setAt(structuredClone(config), m.path, m.value) : config);
        const ok = accepts(text);
        if (ok) valid++;
        expect(schemaAccepts(text), text).toBe(ok);
      }),
      { numRuns: 500 },
    );
    // Both answers must be common for the comparison to mean anything.
    expect(valid).toBeGreaterThan(50);
    expect(valid).toBeLessThan(450);
  });
});

/** Sets the dotted `path` in `config`, making the sections on the way. */
function setAt(config: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const parts = path.split('.');
  let node = config;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
  return config;
}

/** Values just inside and just outside what a key of this type accepts. */
function edgeValues(type: Field['type']): unknown[] {
  if (type === 'string') return ['', '1', 'yes', 1, true, null, ['a'], { a: 1 }];
  if (type === 'number') return [0, -1, 0.5, 1e21, '3', '0.5', true, null, [1]];
  if (type === 'string-or-number') return ['10GB', '', 0, 1.5, true, null, [], ['1'], { a: 1 }];
  if (type === 'string[]') return [[], [''], ['a', 'b'], 'a', [1], ['a', null], [['a']], null, { a: 'b' }];
  if ('oneOf' in type)
    return [...type.oneOf, ...type.oneOf.map((v) => v.toUpperCase()), 'xz', '', 7, null, [type.oneOf[0]]];
  if ('pattern' in type)
    return [
      '/',
      '/a/b/',
      '/a b',
      '/a?b',
      '/a#b',
      '/*',
      'a/b',
      'E2QWRUHAPOMQZL',
      'e2',
      'E2-X',
      'A'.repeat(64),
      'A'.repeat(65),
      '',
      12345,
      null,
    ];
  return [{}, { nope: 1 }, [], 'x', 0, null];
}
