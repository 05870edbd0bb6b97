import { ClientAgents } from '../../src/detect/client-agents';

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
