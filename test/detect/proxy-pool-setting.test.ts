import { proxyPoolIdleSetting } from '../../src/detect/known-timeouts';

describe('proxyPoolIdleSetting: the pool idle setting of the proxy a Server header names', () => {
  test.each([
    ['nginx/1.22.1', 'nginx upstream: `keepalive_timeout`'],
    ['Apache/2.4.71 (Debian)', 'Apache mod_proxy'],
    ['ATS/9.2.9', 'Traffic Server'],
    ['squid/5.7', 'Squid'],
    ['Caddy', 'Caddy'],
    ['h2o/2.2.5', 'h2o'],
  ])('%s → %s', (server, start) => {
    expect(proxyPoolIdleSetting(server)).toMatch(new RegExp(`^${start.replace(/[.*+?^${}()|[\]\\`]/g, '\\$&')}`));
  });

  test('a server that is no proxy of these names none', () => {
    expect(proxyPoolIdleSetting('gunicorn')).toBeNull();
    expect(proxyPoolIdleSetting('Werkzeug/3.0 Python/3.11')).toBeNull();
  });
});
