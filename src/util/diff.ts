import { createTwoFilesPatch } from 'diff';

/**
 * Unified diff of a file's current and wanted content, '' when equal.
 * Headers `--- <path> (current)` / `+++ <path> (wanted)`, 3 lines of context.
 */
export function unifiedDiff(oldText: string, newText: string, path: string): string {
  if (oldText === newText) return '';
  const patch = createTwoFilesPatch(`${path} (current)`, `${path} (wanted)`, oldText, newText, undefined, undefined, {
    context: 3,
  });
  // drop the "Index:"/"====" preamble if present; keep from the --- line
  const i = patch.indexOf('--- ');
  return i > 0 ? patch.slice(i) : patch;
}
