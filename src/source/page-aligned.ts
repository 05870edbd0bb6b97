/**
 * Byte buffers that start on a page boundary, for reads of a file through the page cache.
 *
 * The kernel copies a read from page-cache pages, which start on page boundaries, to the
 * destination buffer. A Uint8Array's memory comes from malloc, 16 bytes past a page boundary
 * (or anywhere in a page), and a copy whose destination sits a few bytes past its source modulo
 * 4 KiB runs into the CPU's 4K-aliasing stalls: measured on this project's VM (`read(2)` of a
 * 675 MB capture from the page cache in 1 MiB chunks), 1.5–2.5 GB/s into `new Uint8Array`,
 * `Buffer.allocUnsafe` or a SharedArrayBuffer, 10–12 GB/s into page-aligned memory (dd's 10 GB/s);
 * the same reads at offsets 16–4080 bytes into one buffer ran at 7.5–11 GB/s, at 0 and 4096 at
 * 1.6–2 GB/s. JavaScript cannot ask malloc for alignment, but a WebAssembly memory is mapped by
 * V8 with mmap, so it starts on a page boundary.
 */
const WASM_PAGE_BYTES = 64 * 1024;

/** The one part of the WebAssembly API used here (the project's TypeScript libs declare none of it). */
interface WasmMemoryConstructor {
  new (descriptor: { initial: number; maximum: number }): { readonly buffer: ArrayBuffer };
}
const WasmMemory = (globalThis as { WebAssembly?: { Memory: WasmMemoryConstructor } }).WebAssembly?.Memory;

/** `count` buffers of `bytes` each, every one starting on a page boundary, in one mapping. */
export function pageAlignedBuffers(count: number, bytes: number): Uint8Array[] {
  // Each buffer rounded up to whole wasm pages (64 KiB, a multiple of any page size Linux uses
  // for the page cache), so the next one starts on a boundary too.
  const stride = Math.ceil(bytes / WASM_PAGE_BYTES) * WASM_PAGE_BYTES;
  const pages = Math.max(1, (stride * count) / WASM_PAGE_BYTES);
  let memory: ArrayBuffer | null = null;
  try {
    if (WasmMemory !== undefined) memory = new WasmMemory({ initial: pages, maximum: pages }).buffer;
  } catch {
    // No address space for it: slower reads below, same results.
  }
  // No WebAssembly (node --jitless) either.
  memory ??= new ArrayBuffer(stride * count);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) out.push(new Uint8Array(memory, i * stride, bytes));
  return out;
}
