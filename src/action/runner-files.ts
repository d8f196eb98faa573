import { randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';

/**
 * Step outputs in the form the runner reads from $GITHUB_OUTPUT: `name<<DELIMITER`, the value's
 * lines, then the delimiter alone on a line. Every value gets that form, so a value with a
 * newline (the summary JSON could, a crafted package name could) cannot start an output of its own.
 */
export function formatOutputs(
  outputs: Record<string, string>,
  delimiter = `ghadelimiter_${randomUUID()}`,
): string {
  let text = '';
  for (const [name, value] of Object.entries(outputs)) {
    if (name.includes('\n') || name.includes('<<'))
      throw new Error(`bad output name ${JSON.stringify(name)}`);
    if (value.includes(delimiter)) throw new Error(`output ${name} holds the delimiter`);
    text += `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
  }
  return text;
}

/** Appends to a runner file; the runner reads each once the step ends, so appending is the protocol. */
export async function appendRunnerFile(path: string, text: string): Promise<void> {
  await appendFile(path, text, 'utf8');
}
