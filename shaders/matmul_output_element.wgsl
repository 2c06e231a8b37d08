// The epilogue of one accumulator register in every matmul flavour (shaders/matmul_*.wgsl):
// output element (om, on) of the kernel's M x N_TOTAL output, when inside it, gets the matmul
// segments' stores. SEGMENTS (lines) holds one block per segment: paired matmuls share one
// block (their epilogue may combine them, SwiGLU); side by side, `if (on < end) {` … `else {`
// blocks pick the segment of the column (onl: the column within it), each storing the matmul
// and the pointwise epilogue members that read it.
// Slots: ROW, COL (the register's output row and column expressions), M, N_TOTAL, SEGMENTS.
{
  let om = {{ROW}};
  let on = {{COL}};
  if (om < {{M}}u && on < {{N_TOTAL}}u) {
    {{SEGMENTS}}
  }
}
