import { formatIpv4 } from '../../src/decode/address';
import { clientHostKey, hostKeyOfEndpoint, hostKeyOfText, hostKeyText, HostPairMap, serverHostKey } from '../../src/detect/host-keys';

describe('host keys', () => {
  it('gives an IPv4 host text the key its connection side gives (the word as an int32)', () => {
    for (const word of [0, 1, 0x0a000001, 0x7fffffff, 0x80000000, 0xc0a80101, 0xffffffff, 0x0a01bb17]) {
      const conn = { ipVersion: 4 as const, c0: word, s0: 0x0a000001, clientHost: formatIpv4(word), serverHost: '10.0.0.1' };
      expect(hostKeyOfText(formatIpv4(word))).toBe(clientHostKey(conn));
      expect(hostKeyOfEndpoint(`${formatIpv4(word)}:443`)).toBe(clientHostKey(conn));
      expect(serverHostKey(conn)).toBe(0x0a000001);
      expect(typeof clientHostKey(conn)).toBe('number');
      expect(hostKeyText(clientHostKey(conn))).toBe(formatIpv4(word));
    }
  });

  it('keeps any other host as its text (IPv6, an IPv4-mapped IPv6 address, no text of formatIpv4)', () => {
    const v6 = { ipVersion: 6 as const, c0: 0x20010db8, s0: 0, clientHost: '2001:db8::1', serverHost: '::1' };
    expect(clientHostKey(v6)).toBe('2001:db8::1');
    expect(serverHostKey(v6)).toBe('::1');
    expect(hostKeyOfEndpoint('[2001:db8::1]:80')).toBe('2001:db8::1');
    expect(hostKeyText('2001:db8::1')).toBe('2001:db8::1');
    for (const text of ['::ffff:10.0.0.1', '10.0.0', '10.0.0.1.2', '10.0.0.256', '010.0.0.1', '10..0.1', '10.0.0.', '', 'a.b.c.d', '1000.0.0.1']) {
      expect(hostKeyOfText(text)).toBe(text);
    }
  });

  it('counts the pairs of a HostPairMap across servers, a pair set again once', () => {
    const m = new HostPairMap<number>();
    m.set(1, 2, 10);
    m.set(1, 3, 11);
    m.set('10.0.0.9:80', 2, 12);
    m.set(1, 2, 13);
    expect(m.size).toBe(3);
    expect(m.get(1, 2)).toBe(13);
    expect(m.get('10.0.0.9:80', 2)).toBe(12);
    expect(m.get(2, 1)).toBeUndefined();
  });
});
