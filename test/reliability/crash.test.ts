/**
 * Crash safety (fast subset: two seeds, one SIGKILL each, at random moments chosen from the
 * seed; `npm run validate` runs more seeds and several kills per trial). See harness/crash.ts.
 */
import { describe, expect, it } from "vitest";
import { killResumeSuite } from "./harness/crash.ts";

describe("SIGKILL at a random moment, then --resume", () => {
  it("ends bit-identical to the uninterrupted run, loses at most one save period, and clears the stale lock", async () => {
    const r = await killResumeSuite({
      seeds: [101, 202],
      epochs: 150,
      savePeriod: (s) => (s === 101 ? 7 : 20),
      kills: 1,
    });
    expect(r.failures).toEqual([]);
    expect(r.trials).toBe(2);
    // every kill landed on a running process; a kill during start-up can land before the lock is
    // taken (a cold start on a fresh clone), the others left their lock behind and the resume
    // cleared it (a resume that could not clear it fails the trial above)
    expect(r.kills + r.finishedBeforeKill).toBe(2);
    expect(r.staleLocksCleared + r.killsBeforeLock).toBe(r.kills);
    expect(r.maxLost).toBeLessThanOrEqual(20);
  });
});
