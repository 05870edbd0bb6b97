/** A column of the detectors' typed-array stores (request-index.ts, answer-log.ts). */
export type Column = Float64Array | Int32Array | Uint32Array | Uint8Array;

/** A copy of `old` at the start of a new column of `capacity` elements made by `make` (the rest zero). */
export function grownColumn<A extends Column>(old: A, capacity: number, make: (n: number) => A): A {
  const next = make(capacity);
  next.set(old);
  return next;
}

export const float64Column = (n: number): Float64Array => new Float64Array(n);
export const int32Column = (n: number): Int32Array => new Int32Array(n);
export const uint32Column = (n: number): Uint32Array => new Uint32Array(n);
export const uint8Column = (n: number): Uint8Array => new Uint8Array(n);
