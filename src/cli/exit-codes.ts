/** Exit codes, the contract with nightly jobs. */
export const EXIT_OK = 0;
/** Something reached --fail-on. */
export const EXIT_FINDINGS = 1;
/** Bad input or usage: one line on stderr. */
export const EXIT_USAGE = 2;
