/** The TorchInductor release this pipeline is a port of, defects included (DESIGN.md §3). */
export const PORTED_FROM = "2.9.0";
/** This package's own version. */
export const VERSION = "0.1.0";
