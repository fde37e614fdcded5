// The CLI's exit codes.
export const EXIT = { OK: 0, FAILED: 1, INVALID: 2 } as const;
