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
