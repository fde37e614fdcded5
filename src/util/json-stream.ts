// A large --json document written in pieces: byte for byte what `JSON.stringify(doc, null, 2) + '\n'` prints, without
// building that one string (at 1,000 hosts a fresh build's events and diffs are tens of MB, held twice while written).
// The top-level arrays (events, recap, checks) are written an element at a time, through a 64 KiB buffer.

const CHUNK = 64 * 1024;

/** JSON.stringify leaves these out of an object, and writes null for them in an array. */
const omitted = (v: unknown) => v === undefined || typeof v === 'function' || typeof v === 'symbol';
/** Every line after the first, indented (a JSON text has no raw newline inside a string). */
const indentRest = (s: string, pad: string) => s.replaceAll('\n', `\n${pad}`);

/** Write `doc` as `JSON.stringify(doc, null, 2) + '\n'` would be, to `write`, in chunks of about 64 KiB. */
export function writeJsonDocument(doc: Record<string, unknown>, write: (s: string) => void): void {
  let buf: string[] = [];
  let size = 0;
  const put = (s: string) => {
    buf.push(s);
    size += s.length;
    if (size >= CHUNK) flush();
  };
  const flush = () => {
    if (buf.length) write(buf.join(''));
    buf = [];
    size = 0;
  };
  const value = typeof (doc as { toJSON?: unknown }).toJSON === 'function' ? null : doc;
  const keys = value ? Object.keys(value).filter((k) => !omitted(value[k])) : [];
  if (!value || keys.length === 0) {
    write(JSON.stringify(doc, null, 2) + '\n');
    return;
  }
  put('{\n');
  keys.forEach((k, i) => {
    const v = value[k];
    put(`  ${JSON.stringify(k)}: `);
    if (Array.isArray(v) && v.length > 0) {
      put('[\n');
      v.forEach((e, j) => put(`    ${indentRest(JSON.stringify(omitted(e) ? null : e, null, 2), '    ')}${j < v.length - 1 ? ',' : ''}\n`));
      put('  ]');
    } else {
      put(indentRest(JSON.stringify(v, null, 2), '  '));
    }
    put(i < keys.length - 1 ? ',\n' : '\n');
  });
  put('}\n');
  flush();
}
