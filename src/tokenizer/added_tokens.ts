// Added (and special) tokens are cut out of the input text before normalization, whole, as
// huggingface/tokenizers AddedVocabulary does (leftmost-longest match; lstrip/rstrip swallow the
// whitespace beside a token; single_word requires non-word characters around it). llama.cpp's
// tokenizer_st_partition does the same for CONTROL / USER_DEFINED / UNKNOWN tokens.

export interface AddedToken {
  id: number;
  content: string;
  /** Special tokens are skipped by decode({ skipSpecial: true }) and by encode({ parseSpecial: false }). */
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
}

/** A piece of input: plain text (with its offset in the input) or an added token's id. */
export type Segment = { text: string; offset: number } | { id: number };

interface TrieNode {
  children: Map<number, TrieNode>;
  token: AddedToken | null;
}

function newNode(): TrieNode {
  return { children: new Map(), token: null };
}

const WORD_CHAR = /[\p{L}\p{N}_]/u;
const SPACE = /\p{White_Space}/u;

export class AddedTokenMatcher {
  readonly #all = newNode();
  readonly #plain = newNode(); // non-special tokens only
  readonly size: number;

  constructor(tokens: readonly AddedToken[]) {
    for (const t of tokens) {
      if (t.content === "") continue;
      this.#insert(this.#all, t);
      if (!t.special) this.#insert(this.#plain, t);
    }
    this.size = tokens.length;
  }

  #insert(root: TrieNode, t: AddedToken): void {
    let node = root;
    for (let i = 0; i < t.content.length; i++) {
      const c = t.content.charCodeAt(i);
      let child = node.children.get(c);
      if (!child) node.children.set(c, child = newNode());
      node = child;
    }
    node.token ??= t;
  }

  /** Matches at `i`, longest first, honouring single_word. Returns [token, end] or null. */
  #matchAt(root: TrieNode, text: string, i: number): [AddedToken, number] | null {
    const found: Array<[AddedToken, number]> = [];
    let node: TrieNode | undefined = root;
    for (let j = i; j < text.length && node; j++) {
      node = node.children.get(text.charCodeAt(j));
      if (node?.token) found.push([node.token, j + 1]);
    }
    for (let k = found.length - 1; k >= 0; k--) {
      const [t, end] = found[k];
      if (t.singleWord) {
        const before = i > 0 && WORD_CHAR.test(text[i - 1]);
        const after = end < text.length && WORD_CHAR.test(text[end]);
        if (before || after) continue;
      }
      return found[k];
    }
    return null;
  }

  /** Splits `text` into plain-text segments and added-token ids. */
  split(text: string, includeSpecial: boolean): Segment[] {
    const root = includeSpecial ? this.#all : this.#plain;
    if (root.children.size === 0) return text ? [{ text, offset: 0 }] : [];
    const out: Segment[] = [];
    let segStart = 0;
    for (let i = 0; i < text.length;) {
      if (!root.children.has(text.charCodeAt(i))) {
        i++;
        continue;
      }
      const m = this.#matchAt(root, text, i);
      if (!m) {
        i++;
        continue;
      }
      const [t, matchEnd] = m;
      let textEnd = i;
      if (t.lstrip) { while (textEnd > segStart && SPACE.test(text[textEnd - 1])) textEnd--; }
      if (textEnd > segStart) out.push({ text: text.slice(segStart, textEnd), offset: segStart });
      out.push({ id: t.id });
      let end = matchEnd;
      if (t.rstrip) { while (end < text.length && SPACE.test(text[end])) end++; }
      segStart = i = end;
    }
    if (segStart < text.length) out.push({ text: text.slice(segStart), offset: segStart });
    return out;
  }
}
