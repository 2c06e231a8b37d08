// GPT-2's reversible byte <-> printable character map (openai/gpt-2 encoder.py `bytes_to_unicode`,
// huggingface/tokenizers byte_level.rs): printable Latin-1 bytes stand for themselves, the other
// 68 bytes (controls, space, DEL, NBSP, soft hyphen) are shifted to U+0100.. in byte order, so
// every byte string becomes a string of visible characters that BPE merges can work on.

function buildByteToChar(): string[] {
  const map: string[] = new Array(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
    map[b] = String.fromCharCode(printable ? b : 256 + shifted++);
  }
  return map;
}

/** byte value -> its stand-in character. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();
/** stand-in character -> byte value. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(
  BYTE_TO_CHAR.map((c, b) => [c, b]),
);

const utf8 = new TextEncoder();

/** UTF-8 encodes `text` and spells each byte with its stand-in character. */
export function toByteLevel(text: string): string {
  const bytes = utf8.encode(text);
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += BYTE_TO_CHAR[bytes[i]];
  return out;
}

/** Inverse of toByteLevel; characters outside the map contribute their own UTF-8 bytes. */
export function fromByteLevel(token: string, out: number[]): void {
  for (const ch of token) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b !== undefined) out.push(b);
    else for (const x of utf8.encode(ch)) out.push(x);
  }
}
