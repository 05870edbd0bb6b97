import { proxyKey, requestLineKey, rootMountPrefix, sameRequestLine, sameTarget, targetTail } from '../../src/detect/request-target';

describe('request targets on both sides of a proxy', () => {
  test.each([
    ['/a/b?q=1', '/b?q=1'],
    ['/b', '/b'],
    ['/a/b/', '/'],
    ['/', '/'],
    ['http://host:8080/x/y?z=/w', '/y?z=/w'],
    ['*', '*'],
    ['host:443', 'host:443'],
  ])('the tail of %s is %s', (uri, tail) => {
    expect(targetTail(uri)).toBe(tail);
  });

  test.each([
    ['/x?y', '/x?y', true],
    ['/api/x?y', '/x?y', true],
    ['/x?y', '/v1/x?y', true],
    ['http://backend/x', '/x', true],
    ['/a/x', '/b/x', false],
    ['/apix', '/x', false],
    ['/api/', '/', false],
    ['/x?y=1', '/x?y=2', false],
    [null, null, true],
    [null, '/x', false],
  ])('%s and %s: %s', (a, b, same) => {
    expect(sameTarget(a, b)).toBe(same);
    expect(sameTarget(b, a)).toBe(same);
  });

  test('a request and its rewritten copy share a key; the method counts', () => {
    expect(proxyKey('GET', '/api/x?y')).toBe(proxyKey('GET', '/x?y'));
    expect(proxyKey('GET', '/x')).not.toBe(proxyKey('POST', '/x'));
    expect(requestLineKey('GET /api/x')).toBe(proxyKey('GET', '/x'));
    expect(sameRequestLine('GET /api/x', 'GET /x')).toBe(true);
    expect(sameRequestLine('GET /api/x', 'POST /x')).toBe(false);
  });

  test.each([
    ['/b/', '/', '/b'],
    ['/', '/api/v1/', '/api/v1'],
    ['/b', '/', null],
    ['/b/?q', '/', null],
    ['/', '/', null],
    ['/b/x', '/x', null],
    ['http://host/', '/', null],
    [null, '/', null],
  ])('the root mount prefix between %s and %s is %s', (a, b, prefix) => {
    expect(rootMountPrefix(a, b)).toBe(prefix);
    expect(rootMountPrefix(b, a)).toBe(prefix);
  });
});
