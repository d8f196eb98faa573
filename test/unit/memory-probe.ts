import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
/** A full collection, so that what is measured next is memory still alive rather than garbage. */
export const gc = runInNewContext('gc') as () => void;

/**
 * Peak of live ArrayBuffer memory (every Buffer included) above the starting point while `task` runs,
 * sampled between event-loop turns with a collection before each sample.
 */
export async function peakArrayBufferGrowth<T>(
  task: () => Promise<T>,
  intervalMs = 25,
): Promise<{ result: T; peak: number; samples: number }> {
  gc();
  const base = process.memoryUsage().arrayBuffers;
  let peak = 0;
  let samples = 0;
  const timer = setInterval(() => {
    gc();
    samples++;
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
  }, intervalMs);
  try {
    const result = await task();
    return { result, peak, samples };
  } finally {
    clearInterval(timer);
  }
}
