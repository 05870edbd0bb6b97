/** ANSI colours for terminal reports; every function returns its text unchanged when colour is off. */

export interface Paint {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  blue(s: string): string;
  magenta(s: string): string;
  cyan(s: string): string;
}

function sgr(code: string): (s: string) => string {
  return (s) => (s ? `\u001b[${code}m${s}\u001b[0m` : s);
}

const COLOURED: Paint = {
  bold: sgr('1'),
  dim: sgr('2'),
  red: sgr('1;31'),
  green: sgr('32'),
  yellow: sgr('33'),
  blue: sgr('34'),
  magenta: sgr('35'),
  cyan: sgr('36'),
};

const identity = (s: string): string => s;
const PLAIN: Paint = { bold: identity, dim: identity, red: identity, green: identity, yellow: identity, blue: identity, magenta: identity, cyan: identity };

export function paint(colour: boolean): Paint {
  return colour ? COLOURED : PLAIN;
}

/**
 * Whether to colour a stream: only a terminal, and never when NO_COLOR is set to anything
 * (no-color.org) or the terminal says it cannot (TERM=dumb).
 */
export function wantsColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}
