/**
 * Ctrl-C on `tcpdump -w - | conncheck analyze -`. The terminal sends SIGINT to the whole pipeline:
 * tcpdump flushes what it buffered and exits, which ends conncheck's input, and the report of what
 * was captured is what the user stopped the capture to see. Node's default for SIGINT exits at
 * once with no report (a blind test lost four failed POSTs so). So while a pipe is read on stdin:
 * - the first SIGINT or SIGTERM keeps reading what the writer still sends (tcpdump's last flush)
 *   for up to GRACE_MS, then stops reading and the analysis of what came is reported;
 * - a second one exits at once, as Ctrl-C always did.
 * A regular file on stdin (`< capture.pcap`) or named files keep the default: nothing is lost by
 * quitting their analysis, it can be run again.
 */
import { isRegularFile, STDIN_FD } from '../source/open-capture';

/** How long the writer may take to flush and close once interrupted (tcpdump takes milliseconds). */
export const GRACE_MS = 2000;

/** Exit codes of a process ended by a signal, as shells report them (128 + the signal's number). */
const EXIT_BY_SIGNAL = { SIGINT: 130, SIGTERM: 143 } as const;

export interface StdinInterrupt {
  /** Whether reading was stopped while the writer still held the pipe open (the input may be cut). */
  readonly cutShort: boolean;
  /** Removes the handlers: the analysis has read its input. */
  release(): void;
}

/**
 * Installs the handlers when `files` reads a pipe on stdin (null otherwise). `stdin` is the stream
 * the reader consumes; destroying it ends the reading as its end would.
 */
export function interruptStopsStdin(
  files: readonly string[],
  stdin: { destroy(): void } = process.stdin,
  warn: (line: string) => void = (line) => void process.stderr.write(line),
): StdinInterrupt | null {
  // A regular file on stdin is read as a file (open-capture.ts): only a pipe, socket or terminal waits on a writer.
  if (!files.includes('-') || isRegularFile(STDIN_FD)) return null;
  let interrupted = false;
  let cutShort = false;
  let timer: NodeJS.Timeout | null = null;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
    if (interrupted) process.exit(EXIT_BY_SIGNAL[signal]);
    interrupted = true;
    warn(`conncheck: interrupted: reading what the capture still sends (up to ${GRACE_MS / 1000} s), then reporting; interrupt again to quit without a report\n`);
    timer = setTimeout(() => {
      cutShort = true;
      stdin.destroy();
    }, GRACE_MS);
    timer.unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    get cutShort() {
      return cutShort;
    },
    release() {
      if (timer !== null) clearTimeout(timer);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}
