import type { Field, Shape } from '../../src/config/schema.js';

export interface KeyEntry {
  /** Dotted path as parse-config names it in errors: `retention.dev.max_size`. */
  path: string;
  field: Field;
}

/** Every key of the shape, sections before their keys, in the table's order. */
export function configKeys(shape: Shape, prefix = ''): KeyEntry[] {
  const out: KeyEntry[] = [];
  for (const [key, field] of Object.entries(shape)) {
    const path = prefix + key;
    out.push({ path, field });
    if (typeof field.type === 'object' && 'section' in field.type)
      out.push(...configKeys(field.type.section, `${path}.`));
  }
  return out;
}

/** The default as a reader sees it: the computed-default text, else the fixed value, else nothing. */
export function defaultText(field: Field): string | undefined {
  if (field.defaultText !== undefined) return field.defaultText;
  if (field.default === undefined) return undefined;
  return `\`${formatValue(field.default)}\``;
}

/** A value as it would be written in YAML flow style on one line. */
export function formatValue(value: string | number | readonly string[]): string {
  return Array.isArray(value) ? `[${value.join(', ')}]` : String(value);
}
