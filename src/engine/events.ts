// Where events go: kept for the result, handed to the caller's onEvent, and task events counted in the host's recap.
import type { HostState } from './host-state.js';
import { countTask } from './recap.js';
import type { EngineEvent, TaskEvent, TaskStatus } from './types.js';

export class Reporter {
  readonly events: EngineEvent[] = [];
  constructor(private readonly onEvent?: (e: EngineEvent) => void) {}

  readonly emit = (e: EngineEvent): void => {
    this.events.push(e);
    this.onEvent?.(e);
  };

  /** A finished task: counted in its host's recap, then emitted. */
  readonly task = (st: HostState, ev: TaskEvent): TaskStatus => {
    countTask(st.recap, ev);
    this.emit(ev);
    return ev.status;
  };
}
