/** The end-to-end tests' report: one line per check, a count of failures, a non-zero exit on any. */
export interface Checks {
  /** print "ok"/"FAIL" with what was checked (and a detail), counting failures */
  check(ok: boolean, what: string, detail?: string): void;
  /** stop the test: print the message and exit 1 */
  fatal(msg: string): never;
  /** exit 1 if any check failed, else print that all passed */
  finish(): void;
}

export function createChecks(name: string): Checks {
  let failures = 0;
  const fatal = (msg: string): never => {
    console.error(`${name}: ${msg}`);
    process.exit(1);
  };
  return {
    check(ok, what, detail = "") {
      console.log(`${ok ? "ok  " : "FAIL"} ${what}${detail ? ` — ${detail}` : ""}`);
      if (!ok) failures++;
    },
    fatal,
    finish() {
      if (failures > 0) fatal(`${failures} check(s) failed`);
      console.log(`${name}: all checks passed`);
    },
  };
}
