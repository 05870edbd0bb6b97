import { pageAlignedBuffers } from '../../src/source/page-aligned';

describe('pageAlignedBuffers', () => {
  it('gives separate buffers of the size asked, each at a 64 KiB offset of one WebAssembly memory', () => {
    const [a, b, c] = pageAlignedBuffers(3, 100_000);
    for (const buffer of [a, b, c]) {
      expect(buffer.length).toBe(100_000);
      expect(buffer.byteOffset % 65536).toBe(0);
      expect(buffer.buffer).toBe(a.buffer);
    }
    // A WebAssembly memory: V8 maps it with mmap, so its start is on a page boundary.
    expect(a.buffer.byteLength % 65536).toBe(0);
    a.fill(1);
    c.fill(3);
    expect(b.every((x) => x === 0)).toBe(true);
    expect(a[a.length - 1]).toBe(1);
    expect(c[0]).toBe(3);
  });

  it('falls back to an ordinary ArrayBuffer without WebAssembly (node --jitless)', () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebAssembly');
    Reflect.deleteProperty(globalThis, 'WebAssembly');
    try {
      jest.isolateModules(() => {
        const fresh = require('../../src/source/page-aligned') as typeof import('../../src/source/page-aligned');
        const [a, b] = fresh.pageAlignedBuffers(2, 1000);
        expect([a.length, b.length]).toEqual([1000, 1000]);
        a.fill(7);
        expect(b[0]).toBe(0);
      });
    } finally {
      if (saved !== undefined) Object.defineProperty(globalThis, 'WebAssembly', saved);
    }
    expect(typeof Reflect.get(globalThis, 'WebAssembly')).toBe('object');
  });
});
