// The epilogue of one accumulator register in every matmul flavour (shaders/matmul_*.wgsl):
// output element (om, on) of the kernel's M x N_TOTAL output, when inside it, gets the matmul
// segments' stores. SEGMENTS (lines) holds one block per segment: paired matmuls share one
// block (their epilogue may combine them, SwiGLU); side by side, `if (on < end) {` … `else {`
// blocks pick the segment of the column (onl: the column within it), each storing the matmul
// and the pointwise epilogue members that read it.
// GUARD (text, may be empty) tests only the dimensions a tile can overhang: with the grid's tiles
// dividing M and N_TOTAL exactly every register is inside, and a branch per register is what
// made SwiftShader compile the 512-register tile of matmul 1024 in 5.4 s instead of 2.1 s.
// Slots: ROW, COL (the register's output row and column expressions), GUARD, SEGMENTS.
{
  let om = {{ROW}};
  let on = {{COL}};
  {{GUARD}}{
    {{SEGMENTS}}
  }
}
