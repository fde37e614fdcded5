// Playbooks: plays that target groups, tasks that name one module with its arguments.
import { z } from 'zod';
import type { ModuleDef } from '../engine/types.js';

export const TASK_KEYS = ['name', 'when', 'once', 'notify', 'timeout', 'loop', 'tags'] as const;

export const taskSchema = z
  .object({
    name: z.string().min(1).max(200),
    when: z.union([z.string(), z.boolean()]).optional(),
    once: z.boolean().optional(),
    notify: z.union([z.string(), z.array(z.string())]).optional(),
    timeout: z.number().int().min(1).max(86400).optional(),
    loop: z.union([z.string(), z.array(z.unknown())]).optional(),
    tags: z.array(z.string()).optional(),
  })
  .passthrough();

export const playSchema = z
  .object({
    name: z.string().min(1),
    hosts: z.union([z.string().min(1), z.array(z.string()).min(1)]),
    when: z.union([z.string(), z.boolean()]).optional(),
    tasks: z.array(taskSchema).default([]),
    handlers: z.array(taskSchema).default([]),
  })
  .strict();

export const playbookSchema = z.array(playSchema).min(1, 'a playbook needs at least one play');

export interface TaskSpec {
  name: string;
  /** the module the task names, from the Registry the playbook was loaded with */
  module: ModuleDef;
  args: unknown;
  when?: string | boolean;
  once: boolean;
  notify: string[];
  timeout?: number;
  loop?: string | unknown[];
  /** its `tags:` (for --tags / --skip-tags) */
  tags?: string[];
  /** where it stands, for error messages */
  where: { file: string; line: number; col: number; path: (string | number)[] };
}

export interface PlaySpec {
  name: string;
  hosts: string[];
  when?: string | boolean;
  tasks: TaskSpec[];
  handlers: TaskSpec[];
  where: { file: string; line: number; col: number };
}
