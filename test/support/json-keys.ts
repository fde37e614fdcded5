// The --json documents are snake_case: the keys anywhere in a value that have an upper-case letter (should be none).
export const camelCaseKeys = (v: unknown): string[] => {
  if (Array.isArray(v)) return v.flatMap(camelCaseKeys);
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => [...(/[A-Z]/.test(k) ? [k] : []), ...camelCaseKeys(x)]);
  return [];
};
