import { ClientAgents } from '../../src/detect/client-agents';
import { wholeSecondsBelow } from '../../src/detect/known-timeouts';

describe('ClientAgents: the clients a diagnosis names', () => {
  test('an agent of no listed product (wget) is named beside the listed ones', () => {
    const agents = new ClientAgents();
    agents.noteIdentity('Java-http-client/17.0.15', false);
    agents.noteIdentity('Wget/1.21.3', false);
    expect(agents.describe()).toBe('User-Agents `Java-http-client/17.0.15`, `Wget/1.21.3`');
  });

  test('one listed agent alone; none at all', () => {
    const one = new ClientAgents();
    one.noteIdentity('curl/7.88.1', false);
    expect(one.describe()).toBe('its User-Agent says `curl/7.88.1`');
    const none = new ClientAgents();
    none.noteIdentity(null, false);
    expect(none.describe()).toBe('it sent no User-Agent');
  });
});

describe('ClientAgents.settings: a setting in whole seconds gets a whole second', () => {
  const java = (): ClientAgents => {
    const agents = new ClientAgents();
    agents.noteIdentity('Java-http-client/17.0.15', false);
    return agents;
  };

  test('Java HttpClient\'s jdk.httpclient.keepalive.timeout: the suggested limit rounded down, 1 s when a quarter second is left below the server', () => {
    expect(java().settings({ safer: 2.3, timeout: 3.302 })).toContain('whole seconds only, so 2 s here');
    expect(java().settings({ safer: 0.9, timeout: 1.701 })).toContain('whole seconds only, so 1 s here');
    expect(wholeSecondsBelow(1.7, 2.701)).toBe(1);
    expect(wholeSecondsBelow(0.6, 1.701)).toBe(1);
  });

  test('no whole second below a server timeout of about 1 s: raise the server\'s', () => {
    expect(wholeSecondsBelow(0.5, 1.0)).toBe(0);
    expect(java().settings({ safer: 0.5, timeout: 1.1 })).toContain('even 1 s, the least, is too close to the server\'s timeout');
  });

  test('without a limit, or for a client whose setting takes fractions, nothing is added', () => {
    expect(java().settings()).not.toContain('whole seconds only');
    const go = new ClientAgents();
    go.noteIdentity('Go-http-client/1.1', false);
    expect(go.settings({ safer: 0.9, timeout: 1.701 })).not.toContain('whole seconds');
  });
});
