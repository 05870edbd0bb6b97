import { Capture, Conn, get, ok } from '../detect/reuse-kit';

/**
 * A keep-alive connection whose earlier response lost bytes inside its body in the capture (a busy
 * host's tcpdump dropped packets during a download): what came after the hole is whole, and a
 * failure there is judged as on a connection that lost nothing (blind test 12). A hole that
 * swallowed a response (its head) leaves its request unanswered-looking: never judged.
 */
export function lossyDownload(cap: Capture, hole: 'body' | 'head' | 'response' | 'none'): Conn {
  const c = cap.connection();
  c.handshake(0).exchange(0.01, get('/a'), ok('first'));
  const body = 'b'.repeat(3000);
  c.request(0.5, get('/big'));
  const head = `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`;
  if (hole === 'response') {
    c.unseen('s', head + body);
    c.ack(0.51, 'c');
    return c;
  }
  if (hole === 'head') {
    // The head and most of the body lost; the body's tail seen, so the hole shows.
    c.unseen('s', head + body.slice(0, 2000));
    c.send(0.503, 's', body.slice(2000));
    c.ack(0.5031, 'c');
    return c;
  }
  c.send(0.501, 's', head + body.slice(0, 1000));
  if (hole === 'body') c.unseen('s', body.slice(1000, 2000));
  else c.send(0.502, 's', body.slice(1000, 2000));
  c.send(0.503, 's', body.slice(2000));
  c.ack(0.5031, 'c');
  return c;
}
