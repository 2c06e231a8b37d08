// The symbols of a word being merged, as a doubly linked list over their positions (llama.cpp's
// llm_symbol prev/next, shared by the BPE and SentencePiece merge loops): a merge absorbs the
// right symbol into the left in O(1), and stale heap entries are recognised by their positions.

export class SymbolChain {
  /** The next live symbol after each position (-1: none). */
  readonly next: Int32Array;
  /** The live symbol before each position (-1: none). */
  readonly prev: Int32Array;

  /** Positions 0..n-1, each linked to its neighbours. */
  constructor(n: number) {
    this.next = new Int32Array(n);
    this.prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      this.next[i] = i + 1 < n ? i + 1 : -1;
      this.prev[i] = i - 1;
    }
  }

  /** Unlinks `right`, the symbol after `left`, which now spans both. */
  absorb(left: number, right: number): void {
    const after = this.next[right];
    this.next[left] = after;
    if (after >= 0) this.prev[after] = left;
  }
}
