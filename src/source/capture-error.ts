/**
 * A capture that cannot be read at all (not a capture, wrong magic, absurd header).
 * The CLI turns it into one line on stderr and exit code 2; it never carries a stack to the user.
 */
export class CaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureError';
  }
}

/** The `code` of a Node system error (ENOENT, EAGAIN, Z_BUF_ERROR…), or undefined. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
