import type { Field, FieldType, Shape } from '../../src/config/schema.js';
import { defaultText } from './keys.js';

/**
 * Draft-07: every release of yaml-language-server (VS Code's YAML extension) validates it, where
 * 2019-09 and 2020-12 need its newest ones, and every other validator reads it too.
 */
const DRAFT = 'http://json-schema.org/draft-07/schema#';

export type JsonSchema = { [key: string]: unknown };

export function configJsonSchema(shape: Shape): JsonSchema {
  return {
    $schema: DRAFT,
    title: 'pkgpub.yaml',
    description:
      'Settings of pkgpub, the apt/yum repository publisher. Every key is optional. Reference: docs/config.md in the pkgpub package.',
    ...sectionSchema(shape),
  };
}

function sectionSchema(shape: Shape): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [key, field] of Object.entries(shape)) properties[key] = fieldSchema(field);
  return { type: 'object', additionalProperties: false, properties };
}

function fieldSchema(field: Field): JsonSchema {
  const def = defaultText(field);
  // Hovers show the description only, so the default goes there too (computed ones live nowhere else).
  const out: JsonSchema = {
    description: def === undefined ? field.description : `${field.description} Default: ${def}.`,
    ...typeSchema(field.type),
  };
  if (field.default !== undefined) out.default = copy(field.default);
  if (field.example !== undefined) out.examples = [copy(field.example)];
  return out;
}

function typeSchema(type: FieldType): JsonSchema {
  switch (type) {
    case 'string':
      return { type: 'string' };
    case 'number':
      return { type: 'number' };
    case 'string-or-number':
      return { type: ['string', 'number'] };
    case 'string[]':
      return { type: 'array', items: { type: 'string' } };
  }
  if ('section' in type) return sectionSchema(type.section);
  if ('oneOf' in type) return { type: 'string', enum: [...type.oneOf] };
  // patternErrorMessage is yaml-language-server's: without it an editor shows the bare regex where
  // pkgpub says what it wants. Validators that do not know it ignore it, as draft-07 asks.
  return { type: 'string', pattern: type.pattern, patternErrorMessage: `must be ${type.expected}` };
}

function copy(v: string | number | readonly string[]): string | number | string[] {
  return Array.isArray(v) ? [...v] : (v as string | number);
}
