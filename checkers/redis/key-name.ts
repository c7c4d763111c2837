/**
 * A key name as a person reads it: printable UTF-8 as is, anything else escaped the way
 * redis-cli does ("\xff\x00A"), so two different binary keys never print the same.
 */
export function displayKey(key: Buffer): string {
  const text = key.toString('utf8');
  // eslint-disable-next-line no-control-regex
  if (Buffer.from(text, 'utf8').equals(key) && !/[\x00-\x1f\x7f"\\]/.test(text)) return text;
  let out = '"';
  for (const byte of key) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}
