/**
 * The host names /etc/hosts lists (hosts(5): an address, then names, `#` to the end of the line
 * is a comment). Pure: the caller reads the file. Names compare case-insensitively, without a
 * final dot.
 */
export function hostsFileNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const fields = (line.split('#', 1)[0] ?? '').trim().split(/\s+/);
    for (const name of fields.slice(1)) names.add(normalHostName(name));
  }
  return names;
}

export function normalHostName(name: string): string {
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
}
