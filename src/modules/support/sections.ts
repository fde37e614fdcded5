// Reading a module's probe sections and the argument every stateful module shares.
import { z } from 'zod';
import type { ProbeResult, SectionResult } from '../../engine/types.js';

/** A section's result; a missing section reads as "command not run" (rc 127). */
export function sec(res: ProbeResult, name: string): SectionResult {
  return res[name] ?? { out: '', err: `section ${name} missing`, rc: 127 };
}

export const stateArg = z.enum(['present', 'absent']).default('present');
